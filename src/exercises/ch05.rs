//! Checks for the exercises of chapter 05 (tutorials/ch05.md).

use super::{check, Check};

/// Compares with a relative tolerance; the error names the input, expected and got.
fn expect_rel(input: String, got: f64, want: f64) -> Result<(), String> {
    if (got - want).abs() <= 1e-6 * want.abs().max(1e-9) {
        Ok(())
    } else {
        Err(format!("for {input}: expected {want:.6}, got {got:.6}"))
    }
}

/// `power-law-exponent`: the learner's `power_law_exponent(n1, l1, n2, l2)`, the `α` of
/// `L = c · N^(−α)` through the points `(n1, l1)` and `(n2, l2)`.
pub fn power_law_exponent(f: fn(f64, f64, f64, f64) -> f64) -> Check {
    check("power-law-exponent", || {
        let cases: [(f64, f64, f64, f64); 5] = [
            (1e6, 4.0, 1e8, 2.0),                      // loss halves over 100× the size
            (1e7, 3.0, 1e8, 3.0 * 10f64.powf(-0.076)), // Kaplan et al.'s α_N = 0.076
            (100.0, 1.0, 1000.0, 0.1),                 // α = 1
            (5e3, 0.7, 2e3, 0.9),                      // points given right to left
            (1e3, 0.5, 1e4, 0.5),                      // flat: α = 0
        ];
        for (n1, l1, n2, l2) in cases {
            let want = (l1 / l2).ln() / (n2 / n1).ln();
            expect_rel(
                format!("(N, L) = ({n1}, {l1}) and ({n2}, {l2})"),
                f(n1, l1, n2, l2),
                want,
            )?;
        }
        Ok(())
    })
}

/// `params-for-loss`: the learner's `params_for_loss(c, alpha, loss)`, the `N` at which
/// `c · N^(−α)` equals `loss`.
pub fn params_for_loss(f: fn(f64, f64, f64) -> f64) -> Check {
    check("params-for-loss", || {
        let cases = [
            (10.0, 0.5, 1.0),
            (8.8e13f64.powf(0.076), 0.076, 2.0), // Kaplan et al.'s L(N) = (N_c / N)^α_N
            (3.0, 0.3, 0.5),
            (2.0, 1.0, 4.0), // a loss above c: fewer than one parameter
        ];
        for (c, alpha, loss) in cases {
            let want = (c / loss).powf(1.0 / alpha);
            expect_rel(
                format!("c = {c}, alpha = {alpha}, loss = {loss}"),
                f(c, alpha, loss),
                want,
            )?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercises::tests::incorrect;
    use crate::exercises::Verdict;

    #[test]
    fn power_law_exponent_verdicts() {
        let solution = |n1: f64, l1: f64, n2: f64, l2: f64| (l1 / l2).ln() / (n2 / n1).ln();
        assert!(power_law_exponent(solution).is_correct());
        // The mistake: the slope of the line in log space, whose sign is −α.
        let reason = incorrect(power_law_exponent(|n1, l1, n2, l2| {
            (l2 / l1).ln() / (n2 / n1).ln()
        }));
        assert!(
            reason.contains("(1000000, 4)") && reason.contains("expected 0.150515"),
            "{reason}"
        );
        assert_eq!(
            power_law_exponent(|_, _, _, _| todo!()).verdict,
            Verdict::NotAttempted
        );
    }

    #[test]
    fn params_for_loss_verdicts() {
        assert!(params_for_loss(|c, a, l| (c / l).powf(1.0 / a)).is_correct());
        // The mistake: raising to α instead of 1/α.
        let reason = incorrect(params_for_loss(|c, a, l| (c / l).powf(a)));
        assert!(
            reason.contains("c = 10, alpha = 0.5, loss = 1") && reason.contains("expected 100.000000"),
            "{reason}"
        );
        assert_eq!(params_for_loss(|_, _, _| todo!()).verdict, Verdict::NotAttempted);
    }
}
