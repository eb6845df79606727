/*!
The pass/fail logic of `tokenaudit check`: a CI gate on money and on fit.

Two kinds of check:
- **budget**: with a scenario, each phase's projected monthly cost against its
  budget (`--budget` when given, else the phase's own, else the scenario's:
  the flag on the command line is the most explicit); without a
  scenario, each model's one-pass input cost of the corpus against `--budget`.
- **context**: per model, no document may exceed its input window.

The outcome renders as one line for a CI log and as JUnit XML for CI test
reports. This module decides and describes; the binary maps a failed gate to
exit code 1.
*/

use rust_decimal::Decimal;
use serde::Serialize;

use super::band::EstimatePoint;
use super::cost::ModelCost;
use super::projection::Projection;
use crate::format::format_usd;

/// What the gate looks at.
#[derive(Clone, Copy, Debug, Default)]
pub struct GateInput<'a> {
    /// `--budget` (USD per month; without a scenario, USD for one pass).
    pub budget_usd: Option<Decimal>,
    /// One entry per model under check.
    pub costs: &'a [ModelCost],
    pub projection: Option<&'a Projection>,
    /// `--max-context`: fail when a document exceeds a model's window.
    pub check_context: bool,
    /// `--estimate`: which end of a closed model's band is compared with
    /// the budget (the high end unless told otherwise).
    pub estimate: EstimatePoint,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Pass,
    Fail,
    /// Nothing to check against (no budget given).
    Skipped,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GateCheck {
    /// `budget` or `context`.
    pub kind: String,
    /// What was checked: a phase or a model.
    pub subject: String,
    pub status: CheckStatus,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GateOutcome {
    pub passed: bool,
    pub checks: Vec<GateCheck>,
}

/// Runs every check. The gate passes when no check fails.
pub fn evaluate_gate(input: &GateInput) -> GateOutcome {
    let mut checks = Vec::new();
    match input.projection {
        Some(projection) => {
            for phase in &projection.phases {
                checks.push(budget_check(
                    format!("phase {}", phase.phase),
                    format!(
                        "{} projected {}/month (p50–p90 {}–{})",
                        phase.phase,
                        format_usd(phase.cost_usd_per_month),
                        format_usd(phase.cost_usd_per_month_p50),
                        format_usd(phase.cost_usd_per_month_p90)
                    ),
                    phase.cost_usd_per_month,
                    input.budget_usd.or(phase.budget_usd_per_month),
                    "/month",
                ));
            }
        }
        None => {
            for c in input.costs {
                let (what, cost) = match &c.estimate_band {
                    Some(b) => {
                        let band = b.input_cost_usd;
                        let compared = match input.estimate {
                            EstimatePoint::Central => "the central estimate is",
                            EstimatePoint::High => "the high end is",
                            EstimatePoint::Low => "the low end is",
                        };
                        (
                            format!(
                                "{}: one pass of the corpus costs ≈{} ({}–{}, estimate; \
                                 {compared} compared, --estimate central|high|low)",
                                c.model,
                                format_usd(band.estimate),
                                format_usd(band.estimate_low),
                                format_usd(band.estimate_high)
                            ),
                            band.at(input.estimate),
                        )
                    }
                    None => {
                        let est = if c.estimate { " (estimate)" } else { "" };
                        (
                            format!(
                                "{}: one pass of the corpus costs {}{est}",
                                c.model,
                                format_usd(c.input_cost_usd)
                            ),
                            c.input_cost_usd,
                        )
                    }
                };
                checks.push(budget_check(
                    format!("model {}", c.model),
                    what,
                    cost,
                    input.budget_usd,
                    "",
                ));
            }
        }
    }
    for c in input.costs.iter().filter(|_| input.check_context) {
        let n = c.over_context.len();
        let window = c
            .max_input_tokens
            .map(|m| format!("{m}-token"))
            .unwrap_or_else(|| "unknown".into());
        let message = if n == 0 {
            format!("{}: every document fits the {window} input window", c.model)
        } else {
            let shown: Vec<&str> = c.over_context.iter().take(5).map(String::as_str).collect();
            let more = if n > 5 {
                format!(" and {} more", n - 5)
            } else {
                String::new()
            };
            format!(
                "{}: {n} document{} over the {window} input window: {}{more}",
                c.model,
                if n == 1 { "" } else { "s" },
                shown.join(", ")
            )
        };
        checks.push(GateCheck {
            kind: "context".into(),
            subject: format!("model {}", c.model),
            status: if n == 0 {
                CheckStatus::Pass
            } else {
                CheckStatus::Fail
            },
            message,
        });
    }
    GateOutcome {
        passed: checks.iter().all(|c| c.status != CheckStatus::Fail),
        checks,
    }
}

/// One budget check: `what` describes the cost; `unit` follows the budget
/// in the message (`/month` for projections, nothing for one pass).
fn budget_check(
    subject: String,
    what: String,
    cost: Decimal,
    budget: Option<Decimal>,
    unit: &str,
) -> GateCheck {
    let (status, message) = match budget {
        None => (CheckStatus::Skipped, format!("{what}; no budget given")),
        Some(b) if cost > b => (
            CheckStatus::Fail,
            format!("{what} > budget {}{unit}", format_usd(b)),
        ),
        Some(b) => (
            CheckStatus::Pass,
            format!("{what} <= budget {}{unit}", format_usd(b)),
        ),
    };
    GateCheck {
        kind: "budget".into(),
        subject,
        status,
        message,
    }
}

impl GateOutcome {
    /// One line for a CI log: `tokenaudit check: PASS (3 checks)` or
    /// `tokenaudit check: FAIL: <the failing checks' messages>`.
    pub fn summary(&self) -> String {
        let failed: Vec<&str> = self
            .checks
            .iter()
            .filter(|c| c.status == CheckStatus::Fail)
            .map(|c| c.message.as_str())
            .collect();
        if failed.is_empty() {
            let skipped = self
                .checks
                .iter()
                .filter(|c| c.status == CheckStatus::Skipped)
                .count();
            let passed = self.checks.len() - skipped;
            let tail = if skipped > 0 {
                format!(", {skipped} skipped")
            } else {
                String::new()
            };
            format!("tokenaudit check: PASS ({passed} checks passed{tail})")
        } else {
            format!("tokenaudit check: FAIL: {}", failed.join("; "))
        }
    }

    /// The process exit code (README, "Exit codes"): 0 pass, 1 a gate failed.
    pub fn exit_code(&self) -> i32 {
        if self.passed {
            0
        } else {
            1
        }
    }
}
