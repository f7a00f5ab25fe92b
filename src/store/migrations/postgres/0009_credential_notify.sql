-- Every change of the credentials table tells every node at once (LISTEN vpcep_credentials), so
-- a node may keep the credentials it looked up in memory and forget them the moment one is
-- created, changed or revoked, through any node or the command line. The notification is
-- delivered when the changing transaction commits.

CREATE FUNCTION vpcep_notify_credentials() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('vpcep_credentials', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER credentials_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON credentials
    FOR EACH STATEMENT EXECUTE FUNCTION vpcep_notify_credentials();
