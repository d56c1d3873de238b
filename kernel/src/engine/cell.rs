//! What the engine reads in a learner's cell before evcxr compiles it, with
//! rust-analyzer's parser (the one evcxr itself uses), never by matching text:
//!
//! - a last statement `let x = …` without its `;` is what the learner meant: the `;` is
//!   added (rustc would say "expected `;`, found `evcxr_variable_store`");
//! - whether the cell ends in an expression, i.e. has a value to show;
//! - a cell that is only a path (`Cnn`) or ends in `expr?`, so that a failed build can say
//!   what to do instead of rustc's cascade.

use ra_ap_syntax::{ast, AstNode, Edition, SourceFile};

/// A cell as evcxr will run it, and what the engine learnt from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub code: String,
    pub has_value: bool,
    /// The whole cell is one path, e.g. `Cnn` or `ferrolab::data::digits`.
    pub bare_path: Option<String>,
    /// The cell's value is an `expr?`.
    pub ends_in_try: bool,
}

/// The prefix that makes a cell a function body for the parser.
const OPEN: &str = "fn cell() {\n";

pub fn prepare(code: &str) -> Prepared {
    let plain = Prepared {
        code: code.to_string(),
        has_value: false,
        bare_path: None,
        ends_in_try: false,
    };
    // evcxr's `:` commands are not Rust.
    if code.lines().any(|l| l.trim_start().starts_with(':')) {
        return plain;
    }
    let wrapped = format!("{OPEN}{code}\n}}");
    let file = SourceFile::parse(&wrapped, Edition::CURRENT).tree();
    let Some(body) = file
        .syntax()
        .descendants()
        .find_map(ast::Fn::cast)
        .and_then(|f| f.body())
        .and_then(|b| b.stmt_list())
    else {
        return plain;
    };
    let tail = body.tail_expr();
    let statements: Vec<ast::Stmt> = body.statements().collect();
    let mut prepared = Prepared {
        has_value: tail.is_some(),
        ..plain
    };
    match &tail {
        Some(ast::Expr::PathExpr(path)) if statements.is_empty() => {
            prepared.bare_path = Some(path.syntax().text().to_string());
        }
        Some(ast::Expr::TryExpr(_)) => prepared.ends_in_try = true,
        _ => {}
    }
    if tail.is_none() {
        if let Some(ast::Stmt::LetStmt(last)) = statements.last() {
            if last.semicolon_token().is_none() && last.initializer().is_some() {
                let end = usize::from(last.syntax().text_range().end()) - OPEN.len();
                if end <= code.len() {
                    prepared.code = format!("{};{}", &code[..end], &code[end..]);
                }
            }
        }
    }
    prepared
}

/// Replaces rustc's errors for a cell that failed to build, when the cell's shape says
/// more than they do.
pub fn advice(prepared: &Prepared) -> Option<String> {
    if let Some(path) = &prepared.bare_path {
        return Some(format!(
            "`{path}` names a type, module or function, not a value, so the cell has nothing to show.\n\
             To read its documentation: `?{path}`. To make a value, call a constructor, e.g. \
             `{path}::new(…)` (`?{path}` lists them), or call the function with its arguments."
        ));
    }
    if prepared.ends_in_try {
        return Some(
            "The cell's value ends in `?`. In a cell `?` can only pass on the error of a \
             `Result` whose error type is a standard error (not an `Option`, not a `String`). \
             To see the value, use `.unwrap()` (or `.expect(\"why\")`) instead, or bind it first: \
             `let x = …?;` then `x`."
                .to_string(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_last_let_without_semicolon_gets_one() {
        let p = prepare("let dev = Cpu::default();\nlet x = 5");
        assert_eq!(p.code, "let dev = Cpu::default();\nlet x = 5;");
        assert!(!p.has_value);
        let p = prepare("let v = vec![1,\n  2]  // two\n");
        assert_eq!(p.code, "let v = vec![1,\n  2];  // two\n");
    }

    #[test]
    fn other_cells_are_left_alone() {
        for code in [
            "let x = 5;",
            "x + 1",
            "let x;",
            "fn f() { let a = 1 }",
            ":dep a = \"1\"\nlet x = 1",
        ] {
            assert_eq!(prepare(code).code, code, "{code}");
        }
        assert!(prepare("x + 1").has_value);
        assert!(!prepare("println!(\"a\");").has_value);
    }

    #[test]
    fn bare_paths_and_trailing_try_are_named() {
        assert_eq!(prepare("Cnn").bare_path.as_deref(), Some("Cnn"));
        assert_eq!(
            prepare("ferrolab::data::digits").bare_path.as_deref(),
            Some("ferrolab::data::digits")
        );
        assert_eq!(prepare("let a = 1;\na").bare_path, None);
        assert!(prepare("\"5\".parse::<i32>()?").ends_in_try);
        assert!(advice(&prepare("Cnn")).unwrap().contains("?Cnn"));
        assert_eq!(advice(&prepare("1 + 1")), None);
    }
}
