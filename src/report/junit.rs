/*!
JUnit XML of `check`, for CI systems that show test reports.

One test suite, `tokenaudit.check`, with one test case per check (class
name `tokenaudit.check.budget` or `tokenaudit.check.context`): a failure
carrying the message for each failed check, `skipped` for a check without a
budget. quick-junit writes the XML (escaping, characters XML 1.0 forbids), so
nothing here assembles markup by hand.
*/

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::pricing::{CheckStatus, GateOutcome};

/// The JUnit XML of a `check` run.
pub fn junit_xml(outcome: &GateOutcome) -> String {
    let mut suite = TestSuite::new("tokenaudit.check");
    for c in &outcome.checks {
        let status = match c.status {
            CheckStatus::Pass => TestCaseStatus::success(),
            CheckStatus::Fail => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(c.message.as_str())
                    .set_type(c.kind.as_str())
                    .set_description(c.message.as_str());
                s
            }
            CheckStatus::Skipped => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(c.message.as_str());
                s
            }
        };
        let mut case = TestCase::new(c.subject.as_str(), status);
        case.set_classname(format!("tokenaudit.check.{}", c.kind));
        if c.status == CheckStatus::Pass {
            case.set_system_out(c.message.as_str());
        }
        suite.add_test_case(case);
    }
    let mut report = Report::new("tokenaudit");
    report.add_test_suite(suite);
    report
        .to_string()
        .expect("writing XML to a String does not fail")
}
