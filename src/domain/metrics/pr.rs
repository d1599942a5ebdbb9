//! Pull-request stages (DESIGN §9): coding, pickup, review and deploy.

use chrono::{DateTime, Utc};

use super::hours;

/// Bots: accounts of type Bot, or logins ending in `[bot]`.
pub fn is_bot(login: Option<&str>, flagged: bool) -> bool {
    flagged || login.is_some_and(|l| l.to_ascii_lowercase().ends_with("[bot]"))
}

/// A review or comment on a pull request.
#[derive(Clone, Debug)]
pub struct Activity {
    pub author: Option<String>,
    pub author_is_bot: bool,
    pub at: Option<DateTime<Utc>>,
    /// Review state (`APPROVED`, `COMMENTED`, …); empty for comments.
    pub state: String,
}

impl Activity {
    /// By a human other than the PR's author ("someone else").
    fn by_someone_else(&self, pr_author: Option<&str>) -> bool {
        !is_bot(self.author.as_deref(), self.author_is_bot)
            && self.author.is_some()
            && self.author.as_deref() != pr_author
    }
}

#[derive(Clone, Debug)]
pub struct PrFacts {
    pub author: Option<String>,
    pub created: DateTime<Utc>,
    pub merged_at: Option<DateTime<Utc>>,
    pub commits_authored: Vec<DateTime<Utc>>,
    pub reviews: Vec<Activity>,
    /// Conversation comments and review comments.
    pub comments: Vec<Activity>,
}

/// The moments a PR's stages start and end, before the deployment is attached.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PrMoments {
    pub first_commit_at: Option<DateTime<Utc>>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub first_review_at: Option<DateTime<Utc>>,
    /// Reviews submitted by someone else.
    pub reviews: i32,
    /// An approval by someone else at or before the merge.
    pub approved: bool,
}

pub fn moments(pr: &PrFacts) -> PrMoments {
    let author = pr.author.as_deref();
    let reviews: Vec<&Activity> = pr.reviews.iter().filter(|r| r.by_someone_else(author)).collect();
    let first_review_at = reviews.iter().filter_map(|r| r.at).min();
    let first_comment_at = pr
        .comments
        .iter()
        .filter(|c| c.by_someone_else(author))
        .filter_map(|c| c.at)
        .min();
    let approved = reviews.iter().any(|r| {
        r.state.eq_ignore_ascii_case("APPROVED") && r.at.is_some_and(|at| pr.merged_at.is_none_or(|m| at <= m))
    });
    PrMoments {
        first_commit_at: pr.commits_authored.iter().copied().min(),
        first_response_at: [first_review_at, first_comment_at].into_iter().flatten().min(),
        first_review_at,
        reviews: reviews.len() as i32,
        approved,
    }
}

/// Stage spans in hours; `None` when a stage cannot be measured (missing or negative).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stages {
    pub coding: Option<f64>,
    pub pickup: Option<f64>,
    pub review: Option<f64>,
    pub deploy: Option<f64>,
}

/// coding = first commit authored → created; pickup = created → first response by someone
/// else; review = first review by someone else → merged (dropped if after the merge);
/// deploy = merged → deployed.
pub fn stages(
    m: &PrMoments,
    created: DateTime<Utc>,
    merged_at: Option<DateTime<Utc>>,
    deployed_at: Option<DateTime<Utc>>,
) -> Stages {
    Stages {
        coding: hours(m.first_commit_at, Some(created)),
        pickup: hours(Some(created), m.first_response_at),
        review: hours(m.first_review_at, merged_at),
        deploy: hours(merged_at, deployed_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, h, 0, 0).unwrap()
    }
    fn act(who: &str, bot: bool, h: u32, state: &str) -> Activity {
        Activity {
            author: Some(who.into()),
            author_is_bot: bot,
            at: Some(t(h)),
            state: state.into(),
        }
    }

    #[test]
    fn stages_follow_the_definitions() {
        let pr = PrFacts {
            author: Some("ann".into()),
            created: t(4),
            merged_at: Some(t(12)),
            commits_authored: vec![t(3), t(1), t(2)],
            // ann's own review and a bot's do not count; bob reviews at 9.
            reviews: vec![
                act("ann", false, 5, "COMMENTED"),
                act("ci[bot]", false, 5, "APPROVED"),
                act("bob", false, 9, "APPROVED"),
            ],
            // carl comments at 7: the first response.
            comments: vec![act("renovate", true, 6, ""), act("carl", false, 7, "")],
        };
        let m = moments(&pr);
        assert_eq!(m.first_commit_at, Some(t(1)));
        assert_eq!(m.first_response_at, Some(t(7)));
        assert_eq!(m.first_review_at, Some(t(9)));
        assert_eq!(m.reviews, 1);
        assert!(m.approved);
        let s = stages(&m, pr.created, pr.merged_at, Some(t(15)));
        assert_eq!(
            s,
            Stages {
                coding: Some(3.0),
                pickup: Some(3.0),
                review: Some(3.0),
                deploy: Some(3.0)
            }
        );
    }

    #[test]
    fn review_after_the_merge_is_dropped_and_is_no_approval() {
        let pr = PrFacts {
            author: Some("ann".into()),
            created: t(4),
            merged_at: Some(t(6)),
            commits_authored: vec![],
            reviews: vec![act("bob", false, 8, "APPROVED")],
            comments: vec![],
        };
        let m = moments(&pr);
        assert!(!m.approved);
        let s = stages(&m, pr.created, pr.merged_at, None);
        assert_eq!(s.review, None);
        assert_eq!(s.pickup, Some(4.0));
        assert_eq!(s.coding, None);
        assert_eq!(s.deploy, None);
    }

    #[test]
    fn bots_are_flagged_accounts_or_bot_logins() {
        assert!(is_bot(Some("dependabot[bot]"), false));
        assert!(is_bot(Some("x"), true));
        assert!(!is_bot(Some("bot-lover"), false));
        assert!(!is_bot(None, false));
    }
}
