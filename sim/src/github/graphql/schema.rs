//! The slice of GitHub's GraphQL schema the simulator serves (names, types and arguments as in
//! `fixtures/github-graphql-schema/schema.graphql`). Anything else is an `undefinedField`.

/// Item types of the connections we serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Item {
    PullRequest,
    Review,
    PrCommit,
    Comment,
    Deployment,
    Status,
    Release,
    ReviewComment,
}

impl Item {
    const ALL: [Item; 8] = [
        Item::PullRequest,
        Item::Review,
        Item::PrCommit,
        Item::Comment,
        Item::Deployment,
        Item::Status,
        Item::Release,
        Item::ReviewComment,
    ];

    fn index(self) -> u64 {
        self as u64
    }

    pub fn ty(self) -> Ty {
        match self {
            Item::PullRequest => Ty::PullRequest,
            Item::Review => Ty::Review,
            Item::PrCommit => Ty::PrCommit,
            Item::Comment => Ty::Comment,
            Item::Deployment => Ty::Deployment,
            Item::Status => Ty::Status,
            Item::Release => Ty::Release,
            Item::ReviewComment => Ty::ReviewComment,
        }
    }

    pub fn conn_name(self) -> &'static str {
        match self {
            Item::PullRequest => "PullRequestConnection",
            Item::Review => "PullRequestReviewConnection",
            Item::PrCommit => "PullRequestCommitConnection",
            Item::Comment => "IssueCommentConnection",
            Item::Deployment => "DeploymentConnection",
            Item::Status => "DeploymentStatusConnection",
            Item::Release => "ReleaseConnection",
            Item::ReviewComment => "PullRequestReviewCommentConnection",
        }
    }

    pub fn edge_name(self) -> &'static str {
        match self {
            Item::PullRequest => "PullRequestEdge",
            Item::Review => "PullRequestReviewEdge",
            Item::PrCommit => "PullRequestCommitEdge",
            Item::Comment => "IssueCommentEdge",
            Item::Deployment => "DeploymentEdge",
            Item::Status => "DeploymentStatusEdge",
            Item::Release => "ReleaseEdge",
            Item::ReviewComment => "PullRequestReviewCommentEdge",
        }
    }
}

/// Object and interface types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    Query,
    RateLimit,
    PageInfo,
    GitActor,
    User,
    Bot,
    Organization,
    Repository,
    Ref,
    Commit,
    PullRequest,
    Review,
    PrCommit,
    Comment,
    Deployment,
    Status,
    Release,
    ReviewComment,
    Conn(Item),
    Edge(Item),
    // interfaces
    Actor,
    RepositoryOwner,
    Node,
    GitObject,
}

const CONCRETE: [Ty; 18] = [
    Ty::Query,
    Ty::RateLimit,
    Ty::PageInfo,
    Ty::GitActor,
    Ty::User,
    Ty::Bot,
    Ty::Organization,
    Ty::Repository,
    Ty::Ref,
    Ty::Commit,
    Ty::PullRequest,
    Ty::Review,
    Ty::PrCommit,
    Ty::Comment,
    Ty::Deployment,
    Ty::Status,
    Ty::Release,
    Ty::ReviewComment,
];

impl Ty {
    pub fn name(self) -> &'static str {
        match self {
            Ty::Query => "Query",
            Ty::RateLimit => "RateLimit",
            Ty::PageInfo => "PageInfo",
            Ty::GitActor => "GitActor",
            Ty::User => "User",
            Ty::Bot => "Bot",
            Ty::Organization => "Organization",
            Ty::Repository => "Repository",
            Ty::Ref => "Ref",
            Ty::Commit => "Commit",
            Ty::PullRequest => "PullRequest",
            Ty::Review => "PullRequestReview",
            Ty::PrCommit => "PullRequestCommit",
            Ty::Comment => "IssueComment",
            Ty::Deployment => "Deployment",
            Ty::Status => "DeploymentStatus",
            Ty::Release => "Release",
            Ty::ReviewComment => "PullRequestReviewComment",
            Ty::Conn(i) => i.conn_name(),
            Ty::Edge(i) => i.edge_name(),
            Ty::Actor => "Actor",
            Ty::RepositoryOwner => "RepositoryOwner",
            Ty::Node => "Node",
            Ty::GitObject => "GitObject",
        }
    }

    pub fn from_name(name: &str) -> Option<Ty> {
        CONCRETE
            .iter()
            .copied()
            .chain(Item::ALL.iter().flat_map(|&i| [Ty::Conn(i), Ty::Edge(i)]))
            .chain([Ty::Actor, Ty::RepositoryOwner, Ty::Node, Ty::GitObject])
            .find(|t| t.name() == name)
    }

    /// The bit of a concrete type (34 concrete types: 18 + 8 connections + 8 edges).
    pub fn bit(self) -> u64 {
        let i = match self {
            Ty::Conn(i) => 18 + i.index(),
            Ty::Edge(i) => 26 + i.index(),
            t => match CONCRETE.iter().position(|c| *c == t) {
                Some(p) => p as u64,
                None => return 0,
            },
        };
        1 << i
    }

    /// The concrete types a value of this type can be.
    pub fn possible(self) -> u64 {
        match self {
            Ty::Actor => Ty::User.bit() | Ty::Bot.bit() | Ty::Organization.bit(),
            Ty::RepositoryOwner => Ty::User.bit() | Ty::Organization.bit(),
            Ty::GitObject => Ty::Commit.bit(),
            Ty::Node => [
                Ty::User,
                Ty::Bot,
                Ty::Organization,
                Ty::Repository,
                Ty::Ref,
                Ty::Commit,
                Ty::PullRequest,
                Ty::Review,
                Ty::PrCommit,
                Ty::Comment,
                Ty::Deployment,
                Ty::Status,
                Ty::Release,
                Ty::ReviewComment,
            ]
            .iter()
            .fold(0, |m, t| m | t.bit()),
            t => t.bit(),
        }
    }
}

/// Every field the simulator resolves (the executor interprets one by its object's type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum F {
    Typename,
    // RateLimit
    Cost,
    Limit,
    NodeCount,
    Remaining,
    ResetAt,
    Used,
    // Query
    RateLimit,
    Viewer,
    Repository,
    Node,
    Nodes,
    User,
    Organization,
    // shared
    Id,
    DatabaseId,
    FullDatabaseId,
    Login,
    Name,
    Email,
    AvatarUrl,
    Url,
    ResourcePath,
    CreatedAt,
    UpdatedAt,
    Description,
    // Repository
    NameWithOwner,
    Owner,
    IsArchived,
    IsPrivate,
    IsFork,
    PushedAt,
    DefaultBranchRef,
    Visibility,
    PullRequests,
    PullRequest,
    Deployments,
    Releases,
    // Ref
    Prefix,
    // PullRequest
    Number,
    Title,
    Body,
    State,
    IsDraft,
    Closed,
    Merged,
    ClosedAt,
    MergedAt,
    Author,
    AuthorAssociation,
    BaseRefName,
    HeadRefName,
    HeadRefOid,
    Additions,
    Deletions,
    ChangedFiles,
    MergeCommit,
    Permalink,
    BaseRepository,
    HeadRepository,
    Reviews,
    Commits,
    Comments,
    // PullRequestReview / IssueComment / PullRequestReviewComment
    SubmittedAt,
    Path,
    PullRequestReview,
    PublishedAt,
    Commit,
    // Commit
    Oid,
    AbbreviatedOid,
    Message,
    MessageHeadline,
    MessageBody,
    AuthoredDate,
    CommittedDate,
    Committer,
    // GitActor
    Date,
    // Deployment / DeploymentStatus
    Environment,
    OriginalEnvironment,
    LatestEnvironment,
    Task,
    Ref,
    CommitOid,
    Creator,
    LatestStatus,
    Statuses,
    Payload,
    Deployment,
    LogUrl,
    EnvironmentUrl,
    // Release
    TagName,
    IsPrerelease,
    IsLatest,
    // PageInfo
    HasNextPage,
    HasPreviousPage,
    StartCursor,
    EndCursor,
    // connections and edges
    TotalCount,
    PageInfo,
    Edges,
    Cursor,
}

/// What a field returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    /// A leaf, with its GraphQL type for messages.
    Leaf(&'static str),
    Obj(Ty),
    /// A list of objects (`nodes`, `edges`, `Query.nodes`).
    List(Ty),
}

impl Ret {
    pub fn object(self) -> Option<Ty> {
        match self {
            Ret::Leaf(_) => None,
            Ret::Obj(t) | Ret::List(t) => Some(t),
        }
    }

    pub fn type_name(self) -> String {
        match self {
            Ret::Leaf(t) => t.to_string(),
            Ret::Obj(t) => t.name().to_string(),
            Ret::List(t) => format!("[{}]", t.name()),
        }
    }
}

/// Argument types (what the planner coerces a value to).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgTy {
    Int,
    String,
    Boolean,
    Id,
    IdList,
    StringList,
    PrStates,
    ReviewStates,
    IssueOrder,
    IssueCommentOrder,
    DeploymentOrder,
    ReleaseOrder,
}

impl ArgTy {
    pub fn name(self) -> &'static str {
        match self {
            ArgTy::Int => "Int",
            ArgTy::String => "String",
            ArgTy::Boolean => "Boolean",
            ArgTy::Id => "ID!",
            ArgTy::IdList => "[ID!]!",
            ArgTy::StringList => "[String!]",
            ArgTy::PrStates => "[PullRequestState!]",
            ArgTy::ReviewStates => "[PullRequestReviewState!]",
            ArgTy::IssueOrder => "IssueOrder",
            ArgTy::IssueCommentOrder => "IssueCommentOrder",
            ArgTy::DeploymentOrder => "DeploymentOrder",
            ArgTy::ReleaseOrder => "ReleaseOrder",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Arg {
    pub name: &'static str,
    pub ty: ArgTy,
    pub required: bool,
}

const fn a(name: &'static str, ty: ArgTy) -> Arg {
    Arg {
        name,
        ty,
        required: false,
    }
}

const fn req(name: &'static str, ty: ArgTy) -> Arg {
    Arg {
        name,
        ty,
        required: true,
    }
}

const NONE: &[Arg] = &[];
const CONN: &[Arg] = &[
    a("first", ArgTy::Int),
    a("last", ArgTy::Int),
    a("after", ArgTy::String),
    a("before", ArgTy::String),
];
const PR_CONN: &[Arg] = &[
    a("first", ArgTy::Int),
    a("last", ArgTy::Int),
    a("after", ArgTy::String),
    a("before", ArgTy::String),
    a("states", ArgTy::PrStates),
    a("orderBy", ArgTy::IssueOrder),
    a("labels", ArgTy::StringList),
    a("baseRefName", ArgTy::String),
    a("headRefName", ArgTy::String),
];
const REVIEW_CONN: &[Arg] = &[
    a("first", ArgTy::Int),
    a("last", ArgTy::Int),
    a("after", ArgTy::String),
    a("before", ArgTy::String),
    a("states", ArgTy::ReviewStates),
    a("author", ArgTy::String),
];
const COMMENT_CONN: &[Arg] = &[
    a("first", ArgTy::Int),
    a("last", ArgTy::Int),
    a("after", ArgTy::String),
    a("before", ArgTy::String),
    a("orderBy", ArgTy::IssueCommentOrder),
];
const DEPLOY_CONN: &[Arg] = &[
    a("first", ArgTy::Int),
    a("last", ArgTy::Int),
    a("after", ArgTy::String),
    a("before", ArgTy::String),
    a("environments", ArgTy::StringList),
    a("orderBy", ArgTy::DeploymentOrder),
];
const RELEASE_CONN: &[Arg] = &[
    a("first", ArgTy::Int),
    a("last", ArgTy::Int),
    a("after", ArgTy::String),
    a("before", ArgTy::String),
    a("orderBy", ArgTy::ReleaseOrder),
];
const AVATAR: &[Arg] = &[a("size", ArgTy::Int)];
const RATE: &[Arg] = &[a("dryRun", ArgTy::Boolean)];
const REPO: &[Arg] = &[
    req("owner", ArgTy::String),
    req("name", ArgTy::String),
    a("followRenames", ArgTy::Boolean),
];
const NODE: &[Arg] = &[req("id", ArgTy::Id)];
const NODES: &[Arg] = &[req("ids", ArgTy::IdList)];
const LOGIN: &[Arg] = &[req("login", ArgTy::String)];
const NUMBER: &[Arg] = &[req("number", ArgTy::Int)];

#[derive(Clone, Copy, Debug)]
pub struct FieldDef {
    pub f: F,
    pub ret: Ret,
    pub args: &'static [Arg],
}

const fn leaf(f: F, t: &'static str) -> Option<FieldDef> {
    Some(FieldDef {
        f,
        ret: Ret::Leaf(t),
        args: NONE,
    })
}

const fn obj(f: F, t: Ty) -> Option<FieldDef> {
    Some(FieldDef {
        f,
        ret: Ret::Obj(t),
        args: NONE,
    })
}

const fn with(f: F, ret: Ret, args: &'static [Arg]) -> Option<FieldDef> {
    Some(FieldDef { f, ret, args })
}

const fn conn(f: F, item: Item, args: &'static [Arg]) -> Option<FieldDef> {
    Some(FieldDef {
        f,
        ret: Ret::Obj(Ty::Conn(item)),
        args,
    })
}

/// Fields every `Actor` has.
fn actor_field(name: &str) -> Option<FieldDef> {
    match name {
        "login" => leaf(F::Login, "String!"),
        "avatarUrl" => with(F::AvatarUrl, Ret::Leaf("URI!"), AVATAR),
        "url" => leaf(F::Url, "URI!"),
        "resourcePath" => leaf(F::ResourcePath, "URI!"),
        _ => None,
    }
}

/// The field `name` of type `ty`, if the simulator knows it.
pub fn field(ty: Ty, name: &str) -> Option<FieldDef> {
    if name == "__typename" {
        return leaf(F::Typename, "String!");
    }
    match ty {
        Ty::Query => match name {
            "rateLimit" => with(F::RateLimit, Ret::Obj(Ty::RateLimit), RATE),
            "viewer" => obj(F::Viewer, Ty::User),
            "repository" => with(F::Repository, Ret::Obj(Ty::Repository), REPO),
            "node" => with(F::Node, Ret::Obj(Ty::Node), NODE),
            "nodes" => with(F::Nodes, Ret::List(Ty::Node), NODES),
            "user" => with(F::User, Ret::Obj(Ty::User), LOGIN),
            "organization" => with(F::Organization, Ret::Obj(Ty::Organization), LOGIN),
            _ => None,
        },
        Ty::RateLimit => match name {
            "cost" => leaf(F::Cost, "Int!"),
            "limit" => leaf(F::Limit, "Int!"),
            "nodeCount" => leaf(F::NodeCount, "Int!"),
            "remaining" => leaf(F::Remaining, "Int!"),
            "resetAt" => leaf(F::ResetAt, "DateTime!"),
            "used" => leaf(F::Used, "Int!"),
            _ => None,
        },
        Ty::PageInfo => match name {
            "hasNextPage" => leaf(F::HasNextPage, "Boolean!"),
            "hasPreviousPage" => leaf(F::HasPreviousPage, "Boolean!"),
            "startCursor" => leaf(F::StartCursor, "String"),
            "endCursor" => leaf(F::EndCursor, "String"),
            _ => None,
        },
        Ty::Actor => actor_field(name),
        Ty::RepositoryOwner => match name {
            "id" => leaf(F::Id, "ID!"),
            _ => actor_field(name),
        },
        Ty::Node => match name {
            "id" => leaf(F::Id, "ID!"),
            _ => None,
        },
        Ty::GitObject => match name {
            "id" => leaf(F::Id, "ID!"),
            "oid" => leaf(F::Oid, "GitObjectID!"),
            "abbreviatedOid" => leaf(F::AbbreviatedOid, "String!"),
            "url" => leaf(F::Url, "URI!"),
            _ => None,
        },
        Ty::User => match name {
            "id" => leaf(F::Id, "ID!"),
            "databaseId" => leaf(F::DatabaseId, "Int"),
            "name" => leaf(F::Name, "String"),
            "email" => leaf(F::Email, "String!"),
            _ => actor_field(name),
        },
        Ty::Bot => match name {
            "id" => leaf(F::Id, "ID!"),
            "databaseId" => leaf(F::DatabaseId, "Int"),
            _ => actor_field(name),
        },
        Ty::Organization => match name {
            "id" => leaf(F::Id, "ID!"),
            "databaseId" => leaf(F::DatabaseId, "Int"),
            "name" => leaf(F::Name, "String"),
            _ => actor_field(name),
        },
        Ty::Repository => match name {
            "id" => leaf(F::Id, "ID!"),
            "databaseId" => leaf(F::DatabaseId, "Int"),
            "name" => leaf(F::Name, "String!"),
            "nameWithOwner" => leaf(F::NameWithOwner, "String!"),
            "description" => leaf(F::Description, "String"),
            "owner" => obj(F::Owner, Ty::RepositoryOwner),
            "isArchived" => leaf(F::IsArchived, "Boolean!"),
            "isPrivate" => leaf(F::IsPrivate, "Boolean!"),
            "isFork" => leaf(F::IsFork, "Boolean!"),
            "createdAt" => leaf(F::CreatedAt, "DateTime!"),
            "updatedAt" => leaf(F::UpdatedAt, "DateTime!"),
            "pushedAt" => leaf(F::PushedAt, "DateTime"),
            "url" => leaf(F::Url, "URI!"),
            "resourcePath" => leaf(F::ResourcePath, "URI!"),
            "visibility" => leaf(F::Visibility, "RepositoryVisibility!"),
            "defaultBranchRef" => obj(F::DefaultBranchRef, Ty::Ref),
            "pullRequests" => conn(F::PullRequests, Item::PullRequest, PR_CONN),
            "pullRequest" => with(F::PullRequest, Ret::Obj(Ty::PullRequest), NUMBER),
            "deployments" => conn(F::Deployments, Item::Deployment, DEPLOY_CONN),
            "releases" => conn(F::Releases, Item::Release, RELEASE_CONN),
            _ => None,
        },
        Ty::Ref => match name {
            "id" => leaf(F::Id, "ID!"),
            "name" => leaf(F::Name, "String!"),
            "prefix" => leaf(F::Prefix, "String!"),
            _ => None,
        },
        Ty::PullRequest => match name {
            "id" => leaf(F::Id, "ID!"),
            "databaseId" => leaf(F::DatabaseId, "Int"),
            "fullDatabaseId" => leaf(F::FullDatabaseId, "BigInt"),
            "number" => leaf(F::Number, "Int!"),
            "title" => leaf(F::Title, "String!"),
            "body" => leaf(F::Body, "String!"),
            "state" => leaf(F::State, "PullRequestState!"),
            "isDraft" => leaf(F::IsDraft, "Boolean!"),
            "closed" => leaf(F::Closed, "Boolean!"),
            "merged" => leaf(F::Merged, "Boolean!"),
            "createdAt" => leaf(F::CreatedAt, "DateTime!"),
            "updatedAt" => leaf(F::UpdatedAt, "DateTime!"),
            "closedAt" => leaf(F::ClosedAt, "DateTime"),
            "mergedAt" => leaf(F::MergedAt, "DateTime"),
            "author" => obj(F::Author, Ty::Actor),
            "authorAssociation" => leaf(F::AuthorAssociation, "CommentAuthorAssociation!"),
            "baseRefName" => leaf(F::BaseRefName, "String!"),
            "headRefName" => leaf(F::HeadRefName, "String!"),
            "headRefOid" => leaf(F::HeadRefOid, "GitObjectID!"),
            "additions" => leaf(F::Additions, "Int!"),
            "deletions" => leaf(F::Deletions, "Int!"),
            "changedFiles" => leaf(F::ChangedFiles, "Int!"),
            "mergeCommit" => obj(F::MergeCommit, Ty::Commit),
            "url" => leaf(F::Url, "URI!"),
            "permalink" => leaf(F::Permalink, "URI!"),
            "resourcePath" => leaf(F::ResourcePath, "URI!"),
            "repository" => obj(F::Repository, Ty::Repository),
            "baseRepository" => obj(F::BaseRepository, Ty::Repository),
            "headRepository" => obj(F::HeadRepository, Ty::Repository),
            "reviews" => conn(F::Reviews, Item::Review, REVIEW_CONN),
            "commits" => conn(F::Commits, Item::PrCommit, CONN),
            "comments" => conn(F::Comments, Item::Comment, COMMENT_CONN),
            _ => None,
        },
        Ty::Review => match name {
            "id" => leaf(F::Id, "ID!"),
            "databaseId" => leaf(F::DatabaseId, "Int"),
            "fullDatabaseId" => leaf(F::FullDatabaseId, "BigInt"),
            "state" => leaf(F::State, "PullRequestReviewState!"),
            "body" => leaf(F::Body, "String!"),
            "submittedAt" => leaf(F::SubmittedAt, "DateTime"),
            "createdAt" => leaf(F::CreatedAt, "DateTime!"),
            "updatedAt" => leaf(F::UpdatedAt, "DateTime!"),
            "publishedAt" => leaf(F::PublishedAt, "DateTime"),
            "author" => obj(F::Author, Ty::Actor),
            "authorAssociation" => leaf(F::AuthorAssociation, "CommentAuthorAssociation!"),
            "commit" => obj(F::Commit, Ty::Commit),
            "url" => leaf(F::Url, "URI!"),
            "resourcePath" => leaf(F::ResourcePath, "URI!"),
            "pullRequest" => obj(F::PullRequest, Ty::PullRequest),
            "repository" => obj(F::Repository, Ty::Repository),
            "comments" => conn(F::Comments, Item::ReviewComment, CONN),
            _ => None,
        },
        Ty::ReviewComment => match name {
            "id" => leaf(F::Id, "ID!"),
            "databaseId" => leaf(F::DatabaseId, "Int"),
            "fullDatabaseId" => leaf(F::FullDatabaseId, "BigInt"),
            "body" => leaf(F::Body, "String!"),
            "path" => leaf(F::Path, "String!"),
            "createdAt" => leaf(F::CreatedAt, "DateTime!"),
            "updatedAt" => leaf(F::UpdatedAt, "DateTime!"),
            "publishedAt" => leaf(F::PublishedAt, "DateTime"),
            "author" => obj(F::Author, Ty::Actor),
            "authorAssociation" => leaf(F::AuthorAssociation, "CommentAuthorAssociation!"),
            "commit" => obj(F::Commit, Ty::Commit),
            "url" => leaf(F::Url, "URI!"),
            "resourcePath" => leaf(F::ResourcePath, "URI!"),
            "pullRequest" => obj(F::PullRequest, Ty::PullRequest),
            "pullRequestReview" => obj(F::PullRequestReview, Ty::Review),
            "repository" => obj(F::Repository, Ty::Repository),
            _ => None,
        },
        Ty::PrCommit => match name {
            "id" => leaf(F::Id, "ID!"),
            "commit" => obj(F::Commit, Ty::Commit),
            "url" => leaf(F::Url, "URI!"),
            "resourcePath" => leaf(F::ResourcePath, "URI!"),
            "pullRequest" => obj(F::PullRequest, Ty::PullRequest),
            _ => None,
        },
        Ty::Commit => match name {
            "id" => leaf(F::Id, "ID!"),
            "oid" => leaf(F::Oid, "GitObjectID!"),
            "abbreviatedOid" => leaf(F::AbbreviatedOid, "String!"),
            "message" => leaf(F::Message, "String!"),
            "messageHeadline" => leaf(F::MessageHeadline, "String!"),
            "messageBody" => leaf(F::MessageBody, "String!"),
            "authoredDate" => leaf(F::AuthoredDate, "DateTime!"),
            "committedDate" => leaf(F::CommittedDate, "DateTime!"),
            "author" => obj(F::Author, Ty::GitActor),
            "committer" => obj(F::Committer, Ty::GitActor),
            "url" => leaf(F::Url, "URI!"),
            "resourcePath" => leaf(F::ResourcePath, "URI!"),
            "repository" => obj(F::Repository, Ty::Repository),
            _ => None,
        },
        Ty::GitActor => match name {
            "name" => leaf(F::Name, "String"),
            "email" => leaf(F::Email, "String"),
            "date" => leaf(F::Date, "GitTimestamp"),
            "user" => obj(F::User, Ty::User),
            "avatarUrl" => with(F::AvatarUrl, Ret::Leaf("URI!"), AVATAR),
            _ => None,
        },
        Ty::Comment => match name {
            "id" => leaf(F::Id, "ID!"),
            "databaseId" => leaf(F::DatabaseId, "Int"),
            "fullDatabaseId" => leaf(F::FullDatabaseId, "BigInt"),
            "body" => leaf(F::Body, "String!"),
            "createdAt" => leaf(F::CreatedAt, "DateTime!"),
            "updatedAt" => leaf(F::UpdatedAt, "DateTime!"),
            "publishedAt" => leaf(F::PublishedAt, "DateTime"),
            "author" => obj(F::Author, Ty::Actor),
            "authorAssociation" => leaf(F::AuthorAssociation, "CommentAuthorAssociation!"),
            "url" => leaf(F::Url, "URI!"),
            "resourcePath" => leaf(F::ResourcePath, "URI!"),
            "pullRequest" => obj(F::PullRequest, Ty::PullRequest),
            "repository" => obj(F::Repository, Ty::Repository),
            _ => None,
        },
        Ty::Deployment => match name {
            "id" => leaf(F::Id, "ID!"),
            "databaseId" => leaf(F::DatabaseId, "Int"),
            "environment" => leaf(F::Environment, "String"),
            "originalEnvironment" => leaf(F::OriginalEnvironment, "String"),
            "latestEnvironment" => leaf(F::LatestEnvironment, "String"),
            "createdAt" => leaf(F::CreatedAt, "DateTime!"),
            "updatedAt" => leaf(F::UpdatedAt, "DateTime!"),
            "task" => leaf(F::Task, "String"),
            "description" => leaf(F::Description, "String"),
            "payload" => leaf(F::Payload, "String"),
            "state" => leaf(F::State, "DeploymentState"),
            "ref" => obj(F::Ref, Ty::Ref),
            "commitOid" => leaf(F::CommitOid, "String!"),
            "commit" => obj(F::Commit, Ty::Commit),
            "creator" => obj(F::Creator, Ty::Actor),
            "latestStatus" => obj(F::LatestStatus, Ty::Status),
            "statuses" => conn(F::Statuses, Item::Status, CONN),
            "repository" => obj(F::Repository, Ty::Repository),
            _ => None,
        },
        Ty::Status => match name {
            "id" => leaf(F::Id, "ID!"),
            "state" => leaf(F::State, "DeploymentStatusState!"),
            "description" => leaf(F::Description, "String"),
            "createdAt" => leaf(F::CreatedAt, "DateTime!"),
            "updatedAt" => leaf(F::UpdatedAt, "DateTime!"),
            "environment" => leaf(F::Environment, "String"),
            "logUrl" => leaf(F::LogUrl, "URI"),
            "environmentUrl" => leaf(F::EnvironmentUrl, "URI"),
            "creator" => obj(F::Creator, Ty::Actor),
            "deployment" => obj(F::Deployment, Ty::Deployment),
            _ => None,
        },
        Ty::Release => match name {
            "id" => leaf(F::Id, "ID!"),
            "databaseId" => leaf(F::DatabaseId, "Int"),
            "name" => leaf(F::Name, "String"),
            "tagName" => leaf(F::TagName, "String!"),
            "description" => leaf(F::Description, "String"),
            "createdAt" => leaf(F::CreatedAt, "DateTime!"),
            "updatedAt" => leaf(F::UpdatedAt, "DateTime!"),
            "publishedAt" => leaf(F::PublishedAt, "DateTime"),
            "isDraft" => leaf(F::IsDraft, "Boolean!"),
            "isPrerelease" => leaf(F::IsPrerelease, "Boolean!"),
            "isLatest" => leaf(F::IsLatest, "Boolean!"),
            "url" => leaf(F::Url, "URI!"),
            "resourcePath" => leaf(F::ResourcePath, "URI!"),
            "author" => obj(F::Author, Ty::User),
            "repository" => obj(F::Repository, Ty::Repository),
            _ => None,
        },
        Ty::Conn(item) => match name {
            "totalCount" => leaf(F::TotalCount, "Int!"),
            "pageInfo" => obj(F::PageInfo, Ty::PageInfo),
            "nodes" => with(F::Nodes, Ret::List(item.ty()), NONE),
            "edges" => with(F::Edges, Ret::List(Ty::Edge(item)), NONE),
            _ => None,
        },
        Ty::Edge(item) => match name {
            "cursor" => leaf(F::Cursor, "String!"),
            "node" => obj(F::Node, item.ty()),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_distinct_and_names_round_trip() {
        let all: Vec<Ty> = CONCRETE
            .iter()
            .copied()
            .chain(Item::ALL.iter().flat_map(|&i| [Ty::Conn(i), Ty::Edge(i)]))
            .collect();
        let mut seen = 0u64;
        for t in &all {
            assert_eq!(seen & t.bit(), 0, "{t:?}");
            assert_ne!(t.bit(), 0);
            seen |= t.bit();
            assert_eq!(Ty::from_name(t.name()), Some(*t));
        }
        assert_eq!(Ty::Actor.possible() & Ty::PullRequest.bit(), 0);
        assert_ne!(Ty::Node.possible() & Ty::PullRequest.bit(), 0);
    }
}
