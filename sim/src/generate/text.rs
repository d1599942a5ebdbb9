//! Names and phrases: the people, the products and the words they write. Includes markup-like
//! characters, quotes and non-ASCII text on purpose, so renderers and parsers meet them.

use rand::Rng;
use rand::rngs::StdRng;

pub(super) struct Person {
    pub first: &'static str,
    pub last: &'static str,
    /// Jira Data Center login (`name`/`key`).
    pub jira_login: &'static str,
    /// GitHub login, when the person has an account.
    pub github_login: Option<&'static str>,
    /// Work e-mail.
    pub email: &'static str,
    pub time_zone: &'static str,
}

const fn p(
    first: &'static str,
    last: &'static str,
    jira_login: &'static str,
    github_login: Option<&'static str>,
    email: &'static str,
    time_zone: &'static str,
) -> Person {
    Person {
        first,
        last,
        jira_login,
        github_login,
        email,
        time_zone,
    }
}

/// The team. The first twelve have GitHub accounts; the last Jira user is the automation bot.
pub(super) const PEOPLE: [Person; 15] = [
    p(
        "Alice",
        "Martin",
        "amartin",
        Some("alicem"),
        "alice.martin@example.com",
        "Europe/Paris",
    ),
    p(
        "Bob",
        "Nguyen",
        "bnguyen",
        Some("bob-nguyen"),
        "bob.nguyen@example.com",
        "America/Los_Angeles",
    ),
    p(
        "Zoë",
        "Müller",
        "zmuller",
        Some("zoe-mueller"),
        "zoe.mueller@example.com",
        "Europe/Berlin",
    ),
    p(
        "José",
        "García",
        "jgarcia",
        Some("jgarcia-dev"),
        "jose.garcia@example.com",
        "Europe/Madrid",
    ),
    p(
        "Mei",
        "Chen",
        "mchen",
        Some("meichen"),
        "mei.chen@example.com",
        "Asia/Shanghai",
    ),
    p(
        "Liam",
        "O'Brien",
        "lobrien",
        Some("liamob"),
        "liam.obrien@example.com",
        "Europe/Dublin",
    ),
    p(
        "Aarav",
        "Sharma",
        "asharma",
        Some("aarav-s"),
        "aarav.sharma@example.com",
        "Asia/Kolkata",
    ),
    p(
        "Chloé",
        "Dubois",
        "cdubois",
        Some("chloe-d"),
        "chloe.dubois@example.com",
        "Europe/Paris",
    ),
    p(
        "Łukasz",
        "Nowak",
        "lnowak",
        Some("lukasz-nowak"),
        "lukasz.nowak@example.com",
        "Europe/Warsaw",
    ),
    p(
        "Yuki",
        "Tanaka",
        "ytanaka",
        Some("ytanaka"),
        "yuki.tanaka@example.com",
        "Asia/Tokyo",
    ),
    p(
        "Oluwaseun",
        "Adeyemi",
        "oadeyemi",
        Some("seun-adeyemi"),
        "seun.adeyemi@example.com",
        "Africa/Lagos",
    ),
    p(
        "Sven",
        "Eriksson",
        "seriksson",
        Some("sven-e"),
        "sven.eriksson@example.com",
        "Europe/Stockholm",
    ),
    p(
        "Carla",
        "Rossi",
        "crossi",
        None,
        "carla.rossi@example.com",
        "America/Sao_Paulo",
    ),
    p(
        "Dmitri",
        "Ivanov",
        "divanov",
        None,
        "dmitri.ivanov@example.com",
        "Australia/Sydney",
    ),
    p(
        "Automation",
        "for Jira",
        "automation",
        None,
        "automation@example.com",
        "Etc/UTC",
    ),
];

/// Index of the automation user in `PEOPLE` (and in `JiraData::users`).
pub(super) const AUTOMATION: usize = 14;

/// Jira projects: key and name.
pub(super) const PROJECTS: [(&str, &str); 16] = [
    ("PAY", "Payments"),
    ("WEB", "Web Storefront"),
    ("OPS", "Operations"),
    ("DATA", "Data Platform"),
    ("MOB", "Mobile Apps"),
    ("CORE", "Core Services"),
    ("SEC", "Security"),
    ("INFRA", "Infrastructure"),
    ("SRCH", "Search"),
    ("BILL", "Billing"),
    ("AUTH", "Identity & Access"),
    ("ANA", "Analytics"),
    ("NOTIF", "Notifications"),
    ("CX", "Customer Experience"),
    ("PLAT", "Platform"),
    ("QA", "Quality Assurance"),
];

/// Upper-case letters only; unique for every index.
pub(super) fn project_key(i: usize) -> (String, String) {
    if let Some((k, n)) = PROJECTS.get(i) {
        return ((*k).to_string(), (*n).to_string());
    }
    // PRJA, PRJB, …, PRJZ, PRJBA, … (base 26 with letters, never colliding with the list).
    let mut n = i - PROJECTS.len();
    let mut letters = Vec::new();
    loop {
        letters.push(char::from(b'A' + (n % 26) as u8));
        n /= 26;
        if n == 0 {
            break;
        }
    }
    let suffix: String = letters.iter().rev().collect();
    (format!("PRJ{suffix}"), format!("Project {suffix}"))
}

pub(super) const REPOS: [&str; 20] = [
    "payments-api",
    "web-app",
    "ops-tooling",
    "data-pipeline",
    "mobile-app",
    "core-lib",
    "auth-service",
    "search-service",
    "billing-worker",
    "infra-terraform",
    "notifications",
    "analytics-etl",
    "api-gateway",
    "design-system",
    "admin-portal",
    "checkout-service",
    "inventory-api",
    "recommendations",
    "docs-site",
    "legacy-monolith",
];

pub(super) fn repo_name(i: usize) -> String {
    match REPOS.get(i) {
        Some(n) => (*n).to_string(),
        None => format!("service-{}", i + 1),
    }
}

fn pick<'a>(rng: &mut StdRng, items: &'a [&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

const STORY_VERBS: [&str; 10] = [
    "Add",
    "Support",
    "Allow",
    "Show",
    "Implement",
    "Improve",
    "Introduce",
    "Enable",
    "Let admins configure",
    "Export",
];

const OBJECTS: [&str; 24] = [
    "retry to payment client",
    "SEPA direct debit in checkout",
    "CSV export for invoices",
    "dark mode in the web app",
    "pagination on the orders API",
    "webhooks for refund events",
    "2FA for admin accounts",
    "rate limiting on the public API",
    "search by customer e-mail",
    "audit log for role changes",
    "multi-currency prices",
    "saved carts for guests",
    "bulk import of products",
    "<Invoice> component for the PDF view",
    "R&D dashboard widgets",
    "\"Pay now\" button on mobile",
    "Zahlungsübersicht für Händler",
    "café locator map",
    "日本語 locale",
    "SLA timers on support tickets",
    "partial refunds",
    "Apple Pay & Google Pay",
    "order tracking e-mails",
    "feature flags per tenant",
];

const BUG_THINGS: [&str; 12] = [
    "checkout total",
    "login redirect",
    "invoice PDF",
    "search results",
    "currency rounding",
    "session refresh",
    "password reset e-mail",
    "CSV export",
    "order history page",
    "webhook signature check",
    "cart badge",
    "tax calculation",
];

const BUG_CONDS: [&str; 10] = [
    "amount < 0",
    "the cart is empty",
    "the user has no address",
    "locale is de-DE",
    "the name contains an apostrophe (O'Brien)",
    "two tabs are open",
    "the token expired",
    "coupon & gift card are combined",
    "the address has umlauts (Straße)",
    "the request has > 100 items",
];

const TASK_TEMPLATES: [&str; 10] = [
    "Upgrade {dep} to the latest major",
    "Document the {thing} flow",
    "Rotate {dep} credentials",
    "Clean up the {thing} feature flag",
    "Migrate {thing} to PostgreSQL 16",
    "Add alerts for {thing} errors",
    "Remove dead code around {thing}",
    "Load-test {thing}",
    "Write runbook: {thing}",
    "Tune {dep} connection pool",
];

const DEPS: [&str; 8] = [
    "Postgres",
    "Redis",
    "Kafka",
    "Stripe SDK",
    "React",
    "tokio",
    "Spring Boot",
    "OpenSSL",
];

const EPICS: [&str; 10] = [
    "Checkout revamp",
    "Payments v2",
    "Self-service onboarding",
    "Observability baseline",
    "Mobile offline mode",
    "GDPR compliance",
    "Search relevance",
    "Platform cost reduction",
    "Internationalisation (i18n) – Phase 2",
    "Zero-downtime deploys",
];

const SUBTASKS: [&str; 8] = [
    "Write tests for {obj}",
    "Update API docs for {obj}",
    "Backend: {obj}",
    "Frontend: {obj}",
    "QA sign-off",
    "Add metrics & dashboards",
    "Code review follow-ups",
    "Spike: {obj}",
];

pub(super) fn story_summary(rng: &mut StdRng) -> String {
    if rng.random_ratio(1, 8) {
        return format!("As a customer I want {} so that I can pay faster", pick(rng, &OBJECTS));
    }
    format!("{} {}", pick(rng, &STORY_VERBS), pick(rng, &OBJECTS))
}

pub(super) fn bug_summary(rng: &mut StdRng) -> String {
    let thing = pick(rng, &BUG_THINGS);
    let cond = pick(rng, &BUG_CONDS);
    match rng.random_range(0..6) {
        0 => format!("Fix {thing} when {cond}"),
        1 => format!("{} returns 500 when {cond}", capitalise(thing)),
        2 => format!("Crash in {thing} when {cond}"),
        3 => format!("Wrong {thing} when {cond}"),
        4 => format!("Error \"Unexpected token <\" in {thing}"),
        _ => format!("{} is blank on Safari", capitalise(thing)),
    }
}

pub(super) fn task_summary(rng: &mut StdRng) -> String {
    pick(rng, &TASK_TEMPLATES)
        .replace("{dep}", pick(rng, &DEPS))
        .replace("{thing}", pick(rng, &BUG_THINGS))
}

pub(super) fn epic_summary(rng: &mut StdRng) -> String {
    let e = pick(rng, &EPICS);
    if rng.random_bool(0.5) {
        format!("{e} (Q{})", rng.random_range(1..=4))
    } else {
        e.to_string()
    }
}

pub(super) fn subtask_summary(rng: &mut StdRng) -> String {
    pick(rng, &SUBTASKS).replace("{obj}", pick(rng, &OBJECTS))
}

pub(super) fn incident_summary(rng: &mut StdRng, repo: &str, sha: &str) -> String {
    let short = sha.get(..7).unwrap_or(sha);
    match rng.random_range(0..6) {
        0 => format!("{repo}: elevated 5xx after deploy {short}"),
        1 => format!("{repo}: p99 latency > 2s"),
        2 => "Checkout failing for EUR & GBP cards".to_string(),
        3 => "Login outage – users see \"Session expired\"".to_string(),
        4 => format!("Stuck jobs in the {repo} queue"),
        _ => format!("{repo} pods crash-looping after release"),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Lower-case ASCII words joined by `-` (non-ASCII and punctuation dropped), at most `words`.
pub(super) fn slug(s: &str, words: usize) -> String {
    let mut out = String::with_capacity(40);
    let mut n = 0;
    for w in s.split(|c: char| !c.is_ascii_alphanumeric()) {
        if w.is_empty() {
            continue;
        }
        if n == words {
            break;
        }
        if n > 0 {
            out.push('-');
        }
        out.extend(w.chars().map(|c| c.to_ascii_lowercase()));
        n += 1;
    }
    if out.is_empty() {
        out.push_str("change");
    }
    out
}

pub(super) const PR_TITLES_NO_KEY: [&str; 12] = [
    "Refactor logging setup",
    "Update README",
    "ci: cache cargo registry",
    "Bump Node to 20 in CI",
    "Tidy up error handling",
    "Speed up the test suite",
    "chore: fix typos",
    "docs: add runbook for on-call",
    "build: enable LTO for release builds",
    "Remove unused feature flags",
    "Fix flaky integration test",
    "perf: avoid N+1 queries in <OrderList>",
];

pub(super) const COMMIT_MESSAGES: [&str; 14] = [
    "Address review comments",
    "Fix lint",
    "wip",
    "Add tests",
    "Fix flaky test",
    "Rename variables",
    "Update snapshots",
    "Apply suggestions from code review",
    "Fix typo",
    "Handle the None case",
    "Simplify error handling",
    "Add logging",
    "Revert \"wip\"",
    "Update docs",
];

pub(super) fn review_body(rng: &mut StdRng, state: &str) -> String {
    let options: &[&str] = match state {
        "APPROVED" => &["", "LGTM", "LGTM 👍", "Looks good, thanks!", "Ship it 🚀"],
        "CHANGES_REQUESTED" | "DISMISSED" => &[
            "Please add tests for the error path.",
            "This breaks the <Invoice> rendering – see comments.",
            "Can we avoid the extra query here?",
            "Needs a migration & a rollback plan.",
        ],
        _ => &[
            "A few nits.",
            "Left some questions.",
            "",
            "Nice approach, just one concern about \"retry\" semantics.",
        ],
    };
    pick(rng, options).to_string()
}

pub(super) const COMMENTS: [&str; 10] = [
    "Could you rebase on main?",
    "Deployed to staging, looks fine.",
    "Is this covered by the e2e suite?",
    "Can someone from the platform team take a look?",
    "Thanks! Merging after CI.",
    "Follow-up ticket created.",
    "Ça marche chez moi 👍",
    "Did we check the perf impact? p99 was 120ms < 200ms before.",
    "ping",
    "Blocked on the schema change & the feature flag.",
];

pub(super) const REVIEW_COMMENTS: [&str; 8] = [
    "nit: naming",
    "Can this be `None`?",
    "Missing error handling here.",
    "Use `&str` instead of `String`.",
    "Why `<` and not `<=`?",
    "Let's extract this into a helper.",
    "This allocates on every call.",
    "Typo: \"recieve\" → \"receive\"",
];

pub(super) const PATHS: [&str; 12] = [
    "src/main.rs",
    "src/client/retry.rs",
    "src/api/handlers.ts",
    "web/src/components/Invoice.tsx",
    "migrations/0042_add_index.sql",
    "README.md",
    ".github/workflows/ci.yml",
    "app/payments/service.py",
    "internal/server/router.go",
    "src/lib/i18n/de.json",
    "Dockerfile",
    "charts/app/values.yaml",
];

/// (ecosystem, package, major.minor) for dependency bumps.
pub(super) const BUMPS: [(&str, &str, &str); 8] = [
    ("npm_and_yarn", "lodash", "4.17"),
    ("npm_and_yarn", "axios", "1.6"),
    ("cargo", "serde", "1.0"),
    ("cargo", "tokio", "1.37"),
    ("github_actions", "actions/checkout", "4.1"),
    ("go_modules", "golang.org/x/net", "0.23"),
    ("pip", "requests", "2.31"),
    ("docker", "node", "20.11"),
];

pub(super) fn pick_str(rng: &mut StdRng, items: &[&'static str]) -> &'static str {
    items[rng.random_range(0..items.len())]
}
