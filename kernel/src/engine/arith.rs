//! A checked `i64` expression evaluator for the mock engine: literals,
//! variables, `+ - * / %`, unary minus and parentheses.
//!
//! It exists so protocol tests have results and errors to look at; it has no
//! other types, no functions and no operator beyond these, on purpose.

use std::collections::BTreeMap;

/// Why an expression could not be evaluated: an error name and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError {
    pub ename: &'static str,
    pub evalue: String,
}

fn error(ename: &'static str, evalue: &str) -> EvalError {
    EvalError {
        ename,
        evalue: evalue.to_string(),
    }
}

fn is_ident(s: &str) -> bool {
    super::mock::is_ident(s)
}

/// Evaluates an integer expression: `+ - * / %`, unary minus, parentheses,
/// literals and variables; overflow and division by zero are errors.
pub fn eval(expr: &str, vars: &BTreeMap<String, i64>) -> Result<i64, EvalError> {
    let tokens = tokenize(expr.trim().trim_end_matches(';'))?;
    let mut parser = Parser { tokens, pos: 0, vars };
    let value = parser.sum()?;
    if parser.pos != parser.tokens.len() {
        return Err(error(
            "SyntaxError",
            &format!("unexpected `{}`", parser.tokens[parser.pos]),
        ));
    }
    Ok(value)
}

fn tokenize(s: &str) -> Result<Vec<String>, EvalError> {
    let mut tokens = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c.is_alphanumeric() || c == '_' {
            let mut word = String::new();
            while let Some(&c) = chars.peek().filter(|c| c.is_alphanumeric() || **c == '_') {
                word.push(c);
                chars.next();
            }
            tokens.push(word);
        } else if "+-*/%()".contains(c) {
            tokens.push(c.to_string());
            chars.next();
        } else {
            return Err(error("SyntaxError", &format!("unexpected character `{c}`")));
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<String>,
    pos: usize,
    vars: &'a BTreeMap<String, i64>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.pos).map(String::as_str)
    }

    fn sum(&mut self) -> Result<i64, EvalError> {
        let mut value = self.product()?;
        while let Some(op @ ("+" | "-")) = self.peek() {
            let op = op.to_string();
            self.pos += 1;
            let rhs = self.product()?;
            value = if op == "+" {
                value.checked_add(rhs)
            } else {
                value.checked_sub(rhs)
            }
            .ok_or_else(overflow)?;
        }
        Ok(value)
    }

    fn product(&mut self) -> Result<i64, EvalError> {
        let mut value = self.unary()?;
        while let Some(op @ ("*" | "/" | "%")) = self.peek() {
            let op = op.to_string();
            self.pos += 1;
            let rhs = self.unary()?;
            if op != "*" && rhs == 0 {
                return Err(error("ArithmeticError", "attempt to divide by zero"));
            }
            value = match op.as_str() {
                "*" => value.checked_mul(rhs),
                "/" => value.checked_div(rhs),
                _ => value.checked_rem(rhs),
            }
            .ok_or_else(overflow)?;
        }
        Ok(value)
    }

    fn unary(&mut self) -> Result<i64, EvalError> {
        let token = self.peek().map(str::to_string);
        self.pos += 1;
        match token.as_deref() {
            Some("-") => self.unary()?.checked_neg().ok_or_else(overflow),
            Some("(") => {
                let value = self.sum()?;
                if self.peek() != Some(")") {
                    return Err(error("SyntaxError", "expected `)`"));
                }
                self.pos += 1;
                Ok(value)
            }
            Some(t) if t.chars().all(|c| c.is_ascii_digit()) => t.parse().map_err(|_| overflow()),
            Some(t) if is_ident(t) => self
                .vars
                .get(t)
                .copied()
                .ok_or_else(|| error("NameError", &format!("`{t}` is not defined"))),
            Some(t) => Err(error("SyntaxError", &format!("unexpected `{t}`"))),
            None => Err(error("SyntaxError", "unexpected end of expression")),
        }
    }
}

fn overflow() -> EvalError {
    error("ArithmeticError", "attempt to overflow")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_errors() {
        let vars = BTreeMap::from([("x".to_string(), 7)]);
        assert_eq!(eval("1 + 2 * (3 - 1)", &vars), Ok(5));
        assert_eq!(eval("-x % 4", &vars), Ok(-3));
        assert_eq!(eval("1 / 0", &vars).unwrap_err().ename, "ArithmeticError");
        assert_eq!(
            eval("9223372036854775807 + 1", &vars).unwrap_err().ename,
            "ArithmeticError"
        );
        assert_eq!(eval("y", &vars).unwrap_err().ename, "NameError");
        assert_eq!(eval("1 +", &vars).unwrap_err().ename, "SyntaxError");
        assert_eq!(eval("(1", &vars).unwrap_err().ename, "SyntaxError");
        assert_eq!(eval("1 2", &vars).unwrap_err().ename, "SyntaxError");
    }
}
