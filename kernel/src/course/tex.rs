//! Common TeX in Unicode, so the chapters' formulas read in a terminal:
//! `h_t = \tanh(W x_t + U h_{t-1} + b)` → `hₜ = tanh(W xₜ + U hₜ₋₁ + b)`.
//!
//! Covers what the chapters use: Greek letters, operators and relations, `\frac`, `\sqrt`,
//! `\text`-like wrappers, sub- and superscripts (Unicode where every char has a form, else
//! `_(…)` / `^(…)`). Anything unknown is kept as written rather than guessed.

/// `\name` → its symbol.
fn symbol(name: &str) -> Option<&'static str> {
    Some(match name {
        "alpha" => "α",
        "beta" => "β",
        "gamma" => "γ",
        "delta" => "δ",
        "epsilon" | "varepsilon" => "ε",
        "zeta" => "ζ",
        "eta" => "η",
        "theta" => "θ",
        "lambda" => "λ",
        "mu" => "μ",
        "nu" => "ν",
        "xi" => "ξ",
        "pi" => "π",
        "rho" => "ρ",
        "sigma" => "σ",
        "tau" => "τ",
        "phi" | "varphi" => "φ",
        "chi" => "χ",
        "psi" => "ψ",
        "omega" => "ω",
        "Delta" => "Δ",
        "Gamma" => "Γ",
        "Sigma" => "Σ",
        "Theta" => "Θ",
        "Lambda" => "Λ",
        "Phi" => "Φ",
        "Omega" => "Ω",
        "Pi" => "Π",
        "cdot" => "·",
        "times" => "×",
        "sum" => "∑",
        "prod" => "∏",
        "in" => "∈",
        "le" | "leq" => "≤",
        "ge" | "geq" => "≥",
        "ne" | "neq" => "≠",
        "approx" => "≈",
        "to" | "rightarrow" => "→",
        "leftarrow" => "←",
        "infty" => "∞",
        "partial" => "∂",
        "nabla" => "∇",
        "odot" => "⊙",
        "otimes" => "⊗",
        "oplus" => "⊕",
        "top" => "ᵀ",
        "ldots" | "dots" => "…",
        "cdots" => "⋯",
        "sim" => "∼",
        "propto" => "∝",
        "pm" => "±",
        "mid" => "|",
        "quad" => "  ",
        "qquad" => "    ",
        "," | ";" | ":" | " " => " ",
        "{" => "{",
        "}" => "}",
        "%" => "%",
        "_" => "_",
        "lbrace" => "{",
        "rbrace" => "}",
        "|" => "‖",
        "lVert" | "rVert" | "Vert" => "‖",
        "left" | "right" | "big" | "Big" | "bigl" | "bigr" | "displaystyle" | "limits" => "",
        "max" => "max",
        "min" => "min",
        "exp" => "exp",
        "log" => "log",
        "ln" => "ln",
        "tanh" => "tanh",
        "sin" => "sin",
        "cos" => "cos",
        "arg" => "arg",
        "argmax" => "argmax",
        "softmax" => "softmax",
        _ => return None,
    })
}

fn superscript(c: char) -> Option<char> {
    Some(match c {
        '0' => '⁰',
        '1' => '¹',
        '2' => '²',
        '3' => '³',
        '4' => '⁴',
        '5' => '⁵',
        '6' => '⁶',
        '7' => '⁷',
        '8' => '⁸',
        '9' => '⁹',
        '+' => '⁺',
        '-' | '−' => '⁻',
        '(' => '⁽',
        ')' => '⁾',
        'n' => 'ⁿ',
        'i' => 'ⁱ',
        'T' | 'ᵀ' => 'ᵀ',
        't' => 'ᵗ',
        'k' => 'ᵏ',
        'd' => 'ᵈ',
        'x' => 'ˣ',
        'l' => 'ˡ',
        'm' => 'ᵐ',
        'a' => 'ᵃ',
        'b' => 'ᵇ',
        'c' => 'ᶜ',
        'e' => 'ᵉ',
        'h' => 'ʰ',
        'j' => 'ʲ',
        'o' => 'ᵒ',
        'p' => 'ᵖ',
        'r' => 'ʳ',
        's' => 'ˢ',
        'u' => 'ᵘ',
        'v' => 'ᵛ',
        'w' => 'ʷ',
        'y' => 'ʸ',
        'z' => 'ᶻ',
        ' ' => ' ',
        _ => return None,
    })
}

fn subscript(c: char) -> Option<char> {
    Some(match c {
        '0' => '₀',
        '1' => '₁',
        '2' => '₂',
        '3' => '₃',
        '4' => '₄',
        '5' => '₅',
        '6' => '₆',
        '7' => '₇',
        '8' => '₈',
        '9' => '₉',
        '+' => '₊',
        '-' | '−' => '₋',
        '=' => '₌',
        '(' => '₍',
        ')' => '₎',
        'a' => 'ₐ',
        'e' => 'ₑ',
        'h' => 'ₕ',
        'i' => 'ᵢ',
        'j' => 'ⱼ',
        'k' => 'ₖ',
        'l' => 'ₗ',
        'm' => 'ₘ',
        'n' => 'ₙ',
        'o' => 'ₒ',
        'p' => 'ₚ',
        'r' => 'ᵣ',
        's' => 'ₛ',
        't' => 'ₜ',
        'u' => 'ᵤ',
        'v' => 'ᵥ',
        'x' => 'ₓ',
        ' ' => ' ',
        _ => return None,
    })
}

/// Converts one formula (the text between `$`s) to Unicode.
pub fn to_unicode(tex: &str) -> String {
    let chars: Vec<char> = tex.chars().collect();
    let mut pos = 0;
    convert(&chars, &mut pos, None)
}

/// Converts until `stop` (a closing brace) or the end.
fn convert(chars: &[char], pos: &mut usize, stop: Option<char>) -> String {
    let mut out = String::new();
    while *pos < chars.len() {
        let c = chars[*pos];
        *pos += 1;
        match c {
            _ if Some(c) == stop => return out,
            '{' => out.push_str(&convert(chars, pos, Some('}'))),
            '\\' => out.push_str(&command(chars, pos)),
            '^' | '_' => {
                let arg = argument(chars, pos);
                let map = if c == '^' { superscript } else { subscript };
                match arg.chars().map(map).collect::<Option<String>>() {
                    Some(small) => out.push_str(&small),
                    None if arg.chars().count() == 1 => {
                        out.push(c);
                        out.push_str(&arg);
                    }
                    None => out.push_str(&format!("{c}({arg})")),
                }
            }
            '-' => out.push('−'),
            _ => out.push(c),
        }
    }
    out
}

/// One argument of `^`, `_` or a command: a braced group or a single token.
fn argument(chars: &[char], pos: &mut usize) -> String {
    while chars.get(*pos) == Some(&' ') {
        *pos += 1;
    }
    match chars.get(*pos) {
        Some('{') => {
            *pos += 1;
            convert(chars, pos, Some('}'))
        }
        Some('\\') => {
            *pos += 1;
            command(chars, pos)
        }
        Some(&c) => {
            *pos += 1;
            if c == '-' {
                "−".into()
            } else {
                c.to_string()
            }
        }
        None => String::new(),
    }
}

/// A command after its backslash.
fn command(chars: &[char], pos: &mut usize) -> String {
    let start = *pos;
    while *pos < chars.len() && chars[*pos].is_ascii_alphabetic() {
        *pos += 1;
    }
    if *pos == start && *pos < chars.len() {
        *pos += 1; // a one-symbol command: \, \{ \|
    }
    let name: String = chars[start..*pos].iter().collect();
    match name.as_str() {
        "frac" | "dfrac" | "tfrac" => {
            let (num, den) = (argument(chars, pos), argument(chars, pos));
            format!("{}/{}", group(&num), group(&den))
        }
        "sqrt" => format!("√{}", group(&argument(chars, pos))),
        "text" | "mathrm" | "operatorname" | "mathbf" | "mathit" | "boldsymbol" | "mathcal" | "textrm"
        | "textbf" | "mathbb" => argument(chars, pos),
        "hat" => format!("{}̂", argument(chars, pos)),
        "tilde" => format!("{}̃", argument(chars, pos)),
        "bar" | "overline" => format!("{}̄", argument(chars, pos)),
        _ => symbol(&name).map_or_else(|| format!("\\{name}"), str::to_string),
    }
}

/// Parenthesises a multi-token fraction part: `a+b` → `(a+b)`.
fn group(text: &str) -> String {
    if text.chars().count() <= 1 || text.chars().all(|c| c.is_alphanumeric()) {
        text.to_string()
    } else {
        format!("({text})")
    }
}

#[cfg(test)]
mod tests {
    use super::to_unicode;

    #[test]
    fn the_books_formulas_read_in_unicode() {
        assert_eq!(
            to_unicode(r"h_t = \tanh(W x_t + U h_{t-1} + b)"),
            "hₜ = tanh(W xₜ + U hₜ₋₁ + b)"
        );
        assert_eq!(
            to_unicode(r"\text{Attention}(Q,K,V) = \text{softmax}\left(\frac{QK^T}{\sqrt{d_k}}\right)V"),
            "Attention(Q,K,V) = softmax(QKᵀ/(√dₖ))V"
        );
        assert_eq!(
            to_unicode(r"y_{ij} = \sum_{m}\sum_{n} x_{i+m,j+n} w_{mn}"),
            "yᵢⱼ = ∑ₘ∑ₙ x_(i+m,j+n) wₘₙ"
        );
        assert_eq!(to_unicode(r"175 \times 10^{9}"), "175 × 10⁹");
        assert_eq!(to_unicode(r"\unknown{x}"), r"\unknownx");
    }
}
