//! A list query as data: the conditions a flow sets, rendered here into SQL for a backend's
//! dialect (placeholders, substring search), with the page's order and bounds.

use super::PageRequest;

/// A value bound to a condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    Text(String),
    Int(i64),
}

/// How a condition compares its column with its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Test {
    /// `column = value`.
    Eq,
    /// The column contains the value, case-insensitively.
    Contains,
}

/// One condition on a column (`s.project_id`, `e.vpc_id`, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cond {
    pub column: &'static str,
    pub test: Test,
    pub arg: Arg,
}

/// The conditions (joined by AND) of a list, and the number of matches when the flow already
/// knows it (from counters), so the backend need not count rows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub conds: Vec<Cond>,
    pub known_total: Option<i64>,
}

impl ListQuery {
    pub fn new() -> Self {
        Self::default()
    }

    fn with(mut self, column: &'static str, test: Test, arg: Arg) -> Self {
        self.conds.push(Cond { column, test, arg });
        self
    }

    pub fn eq(self, column: &'static str, value: impl Into<String>) -> Self {
        self.with(column, Test::Eq, Arg::Text(value.into()))
    }

    pub fn eq_int(self, column: &'static str, value: i64) -> Self {
        self.with(column, Test::Eq, Arg::Int(value))
    }

    pub fn eq_opt(self, column: &'static str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.eq(column, v),
            None => self,
        }
    }

    pub fn contains_opt(self, column: &'static str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.with(column, Test::Contains, Arg::Text(v.to_owned())),
            None => self,
        }
    }
}

/// What a list of one kind of row reads: `select` and `count` (each up to where the WHERE
/// clause goes) and the prefix of the columns it orders by (`"s."`, or `""`).
pub struct ListSql {
    pub select: &'static str,
    pub count: &'static str,
    pub prefix: &'static str,
}

/// How a backend spells a parameter and a case-insensitive substring test.
pub struct Dialect {
    /// The n-th parameter (1-based): `?` or `$n`.
    pub placeholder: fn(usize) -> String,
    /// `column` contains the parameter `param`.
    pub contains: fn(&str, &str) -> String,
}

impl ListQuery {
    /// The query's arguments in the order of their placeholders; a page query adds the limit
    /// and the offset after them.
    pub fn args(&self) -> impl Iterator<Item = &Arg> {
        self.conds.iter().map(|c| &c.arg)
    }

    fn where_clause(&self, d: &Dialect) -> String {
        let conditions: Vec<String> = self
            .conds
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let p = (d.placeholder)(i + 1);
                match c.test {
                    Test::Eq => format!("{} = {p}", c.column),
                    Test::Contains => (d.contains)(c.column, &p),
                }
            })
            .collect();
        if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        }
    }

    /// `SELECT COUNT(*) ...` of the matches.
    pub fn count_sql(&self, sql: &ListSql, d: &Dialect) -> String {
        format!("{}{}", sql.count, self.where_clause(d))
    }

    /// The page's rows, in its order: ties on the sort key are broken by id in the same
    /// direction, so one index serves both the filter and the order.
    pub fn page_sql(&self, sql: &ListSql, d: &Dialect, page: PageRequest) -> String {
        let (key, dir) = page.order_sql();
        let n = self.conds.len();
        let p = sql.prefix;
        format!(
            "{}{} ORDER BY {p}{key} {dir}, {p}id {dir} LIMIT {} OFFSET {}",
            sql.select,
            self.where_clause(d),
            (d.placeholder)(n + 1),
            (d.placeholder)(n + 2),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQL: ListSql = ListSql {
        select: "SELECT a FROM t",
        count: "SELECT COUNT(*) FROM t",
        prefix: "t.",
    };

    #[test]
    fn conditions_render_in_each_dialect_in_argument_order() {
        let q = ListQuery::new()
            .eq("t.p", "x")
            .contains_opt("t.name", Some("Ab"))
            .eq_int("t.n", 3)
            .eq_opt("t.skip", None::<String>);
        let pg = Dialect {
            placeholder: |n| format!("${n}"),
            contains: |c, p| format!("strpos(lower({c}), lower({p})) > 0"),
        };
        assert_eq!(
            q.count_sql(&SQL, &pg),
            "SELECT COUNT(*) FROM t WHERE t.p = $1 AND strpos(lower(t.name), lower($2)) > 0 \
             AND t.n = $3"
        );
        let page = PageRequest::default();
        assert_eq!(
            q.page_sql(&SQL, &pg, page),
            "SELECT a FROM t WHERE t.p = $1 AND strpos(lower(t.name), lower($2)) > 0 AND \
             t.n = $3 ORDER BY t.created_at DESC, t.id DESC LIMIT $4 OFFSET $5"
        );
        let args: Vec<&Arg> = q.args().collect();
        assert_eq!(
            args,
            [
                &Arg::Text("x".into()),
                &Arg::Text("Ab".into()),
                &Arg::Int(3)
            ]
        );
        let none = ListQuery::new();
        assert_eq!(none.count_sql(&SQL, &pg), "SELECT COUNT(*) FROM t");
    }
}
