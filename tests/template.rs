//! The SAM template's security promises, checked on `template.yaml` itself: no IAM statement
//! allows a Secrets Manager or KMS action on a wildcard resource, every HTTP entry demands IAM,
//! only AWS services scoped to a source may invoke the function directly, no environment variable
//! carries a secret, and the function is the arm64 `bootstrap` that cargo-lambda builds.
//!
//! CloudFormation's short-form tags (`!Ref`, `!Sub`, `!If`, ...) arrive from `serde_norway` as
//! `Value::Tagged`; their long forms (`Ref:`, `Fn::Sub:`) are read the same way. The checkers are
//! also run on small inline templates that break each rule, so a checker that sees nothing fails.

use serde_norway::{Mapping, Value};

static NULL: Value = Value::Null;

// ------------------------------------------------------------------------------------------------
// Reading a template.

fn parse(text: &str) -> Value {
    serde_norway::from_str(text).unwrap_or_else(|error| panic!("not a YAML template: {error}"))
}

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml");
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("cannot read {path}: {error}"));
    parse(&text)
}

/// `(logical id, resource)` for every resource of the template.
fn resources(template: &Value) -> Vec<(&str, &Value)> {
    template
        .get("Resources")
        .and_then(Value::as_mapping)
        .map(|resources| {
            resources
                .iter()
                .filter_map(|(id, resource)| Some((id.as_str()?, resource)))
                .collect()
        })
        .unwrap_or_default()
}

fn resources_of_type<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    resources(template)
        .into_iter()
        .filter(|(_, resource)| resource_type(resource) == kind)
        .collect()
}

fn resource_type(resource: &Value) -> &str {
    resource.get("Type").and_then(Value::as_str).unwrap_or("")
}

fn properties(resource: &Value) -> &Value {
    resource.get("Properties").unwrap_or(&NULL)
}

fn parameters(template: &Value) -> Option<&Mapping> {
    template.get("Parameters").and_then(Value::as_mapping)
}

/// An intrinsic function in either spelling, named without its `!` or `Fn::`: `!Sub x` and
/// `Fn::Sub: x` both give `("Sub", x)`, `!Ref x` and `Ref: x` both `("Ref", x)`.
fn intrinsic(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            Some((name.strip_prefix("Fn::").unwrap_or(name).to_owned(), &tagged.value))
        }
        Value::Mapping(map) if map.len() == 1 => {
            let (key, inner) = map.iter().next()?;
            let key = key.as_str()?;
            match key.strip_prefix("Fn::") {
                Some(name) => Some((name.to_owned(), inner)),
                None => (key == "Ref").then(|| ("Ref".to_owned(), inner)),
            }
        }
        _ => None,
    }
}

/// The logical id a `!Ref` names, if `value` is one.
fn ref_target(value: &Value) -> Option<&str> {
    match intrinsic(value) {
        Some((name, target)) if name == "Ref" => target.as_str(),
        _ => None,
    }
}

/// The logical id and attribute a `!GetAtt` names, in either of its argument forms.
fn get_att(value: &Value) -> Option<(String, String)> {
    let (name, args) = intrinsic(value)?;
    if name != "GetAtt" {
        return None;
    }
    match args {
        Value::String(dotted) => {
            let (id, attribute) = dotted.split_once('.')?;
            Some((id.to_owned(), attribute.to_owned()))
        }
        Value::Sequence(pair) if pair.len() == 2 => Some((pair[0].as_str()?.to_owned(), pair[1].as_str()?.to_owned())),
        _ => None,
    }
}

/// The values `value` can take once conditions are decided: both branches of every `!If`, and
/// nothing for `!Ref AWS::NoValue`.
fn alternatives(value: &Value) -> Vec<&Value> {
    match intrinsic(value) {
        Some((name, args)) if name == "If" => match args.as_sequence() {
            Some(branches) if branches.len() == 3 => branches[1..].iter().flat_map(alternatives).collect(),
            _ => vec![value],
        },
        Some((name, args)) if name == "Ref" && args.as_str() == Some("AWS::NoValue") => Vec::new(),
        _ => vec![value],
    }
}

/// A value, or the items of a list, each through [`alternatives`].
fn items(value: &Value) -> Vec<&Value> {
    alternatives(value)
        .into_iter()
        .flat_map(|value| match value {
            Value::Sequence(items) => items.iter().flat_map(alternatives).collect(),
            other => vec![other],
        })
        .collect()
}

/// Every value under a mapping key named `key`, anywhere inside `value`.
fn keys_named<'a>(value: &'a Value, key: &str, found: &mut Vec<&'a Value>) {
    match value {
        Value::Mapping(map) => {
            for (name, inner) in map {
                if name.as_str() == Some(key) {
                    found.push(inner);
                }
                keys_named(inner, key, found);
            }
        }
        Value::Sequence(values) => values.iter().for_each(|inner| keys_named(inner, key, found)),
        Value::Tagged(tagged) => keys_named(&tagged.value, key, found),
        _ => {}
    }
}

/// Every string anywhere inside `value`, tags and all.
fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(text) => vec![text.as_str()],
        Value::Sequence(items) => items.iter().flat_map(strings).collect(),
        Value::Mapping(map) => map.values().flat_map(strings).collect(),
        Value::Tagged(tagged) => strings(&tagged.value),
        _ => Vec::new(),
    }
}

// ------------------------------------------------------------------------------------------------
// Wildcard grants on Secrets Manager and KMS.

/// Resources whose policy governs only themselves, so that `"Resource": "*"` there means "this
/// key" or "this secret" and is the documented way to write them.
const SELF_SCOPED_POLICIES: &[&str] = &[
    "AWS::KMS::Key",
    "AWS::KMS::ReplicaKey",
    "AWS::SecretsManager::ResourcePolicy",
];

/// Services whose actions must always name their resource.
const GUARDED_SERVICES: &[&str] = &["secretsmanager", "kms"];

#[derive(Debug, Default)]
struct Report {
    /// The Allow statements that reach a guarded service, by label.
    checked: Vec<String>,
    problems: Vec<String>,
}

/// Every IAM statement and policy attachment in the template that could allow a Secrets Manager
/// or KMS action on a resource the template does not name.
fn wildcard_grants(template: &Value) -> Report {
    let parameters = parameters(template);
    let mut report = Report::default();
    for (id, resource) in resources(template) {
        let kind = resource_type(resource);
        if SELF_SCOPED_POLICIES.contains(&kind) {
            continue;
        }
        let mut documents = Vec::new();
        policy_documents(properties(resource), &mut documents);
        for document in documents {
            for (index, statement) in items(document.get("Statement").unwrap_or(&NULL))
                .into_iter()
                .enumerate()
            {
                let sid = statement.get("Sid").and_then(Value::as_str);
                let label = match sid {
                    Some(sid) => format!("{id}: statement {sid}"),
                    None => format!("{id}: statement #{}", index + 1),
                };
                check_statement(&label, statement, parameters, &mut report);
            }
        }
        if kind.starts_with("AWS::Serverless::") {
            for policy in items(properties(resource).get("Policies").unwrap_or(&NULL)) {
                check_sam_policy(id, policy, &mut report.problems);
            }
        }
        for arn in items(properties(resource).get("ManagedPolicyArns").unwrap_or(&NULL)) {
            for text in strings(arn) {
                if names_guarded_service(text) {
                    report
                        .problems
                        .push(format!("{id}: managed policy {text} reaches Secrets Manager or KMS on resources this template does not name"));
                }
            }
        }
    }
    report
}

/// Every mapping with a `Statement` key under `value`: IAM role and policy documents, SAM inline
/// policies, resource policies.
fn policy_documents<'a>(value: &'a Value, found: &mut Vec<&'a Value>) {
    match value {
        Value::Mapping(map) if map.contains_key("Statement") => found.push(value),
        Value::Mapping(map) => map.values().for_each(|value| policy_documents(value, found)),
        Value::Sequence(values) => values.iter().for_each(|value| policy_documents(value, found)),
        Value::Tagged(tagged) => policy_documents(&tagged.value, found),
        _ => {}
    }
}

/// A SAM `Policies` entry that is not an inline document: a managed policy name or ARN, or a SAM
/// policy template, neither of which shows its resources here.
fn check_sam_policy(id: &str, policy: &Value, problems: &mut Vec<String>) {
    match policy {
        Value::String(name) if names_guarded_service(name) => problems.push(format!(
            "{id}: managed policy {name} reaches Secrets Manager or KMS on resources this template does not name"
        )),
        Value::Mapping(map) if !map.contains_key("Statement") => {
            for name in map.keys().filter_map(Value::as_str) {
                if names_guarded_service(name) {
                    problems.push(format!(
                        "{id}: SAM policy template {name} hides its Secrets Manager or KMS resources; write the statement out"
                    ));
                }
            }
        }
        _ => {}
    }
}

fn names_guarded_service(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    text.contains("secretsmanager") || text.contains("kms")
}

fn check_statement(label: &str, statement: &Value, parameters: Option<&Mapping>, report: &mut Report) {
    if statement.get("Effect").and_then(Value::as_str) == Some("Deny") {
        return; // a Deny on `*` only takes away
    }
    let reaches_guarded_service = if statement.get("NotAction").is_some() {
        true // allows every action it does not list
    } else {
        statement.get("Action").is_some_and(|actions| {
            items(actions).into_iter().any(|action| match action.as_str() {
                Some(action) => action_reaches_guarded_service(action),
                None => true, // an action computed at deploy time could be anything
            })
        })
    };
    if !reaches_guarded_service {
        return;
    }
    report.checked.push(label.to_owned());
    if statement.get("NotResource").is_some() {
        report
            .problems
            .push(format!("{label}: NotResource allows every resource it does not list"));
    }
    match statement.get("Resource") {
        Some(resource) => check_resource(label, resource, parameters, &mut report.problems),
        None if statement.get("NotResource").is_none() => report.problems.push(format!("{label}: no Resource")),
        None => {}
    }
}

/// Whether an IAM action pattern (`kms:Decrypt`, `secretsmanager:*`, `*`, `secrets*:Get*`)
/// matches an action of a guarded service.
fn action_reaches_guarded_service(action: &str) -> bool {
    let action = action.to_ascii_lowercase();
    let service = action.split(':').next().unwrap_or("");
    GUARDED_SERVICES.iter().any(|guarded| glob_matches(service, guarded))
}

/// IAM's wildcard match: `*` is any run of characters, `?` any one character.
fn glob_matches(pattern: &str, text: &str) -> bool {
    fn matches(pattern: &[char], text: &[char]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some(('*', rest)) => (0..=text.len()).any(|skip| matches(rest, &text[skip..])),
            Some((&c, rest)) => text
                .split_first()
                .is_some_and(|(&t, text)| (c == '?' || c == t) && matches(rest, text)),
        }
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    matches(&pattern, &text)
}

fn check_resource(label: &str, resource: &Value, parameters: Option<&Mapping>, problems: &mut Vec<String>) {
    for resource in items(resource) {
        if let Value::String(text) = resource {
            check_literal(label, text, problems);
            continue;
        }
        let Some((name, args)) = intrinsic(resource) else {
            problems.push(format!(
                "{label}: Resource is neither a string nor an intrinsic function"
            ));
            continue;
        };
        match name.as_str() {
            "Ref" => check_ref(label, args.as_str().unwrap_or(""), parameters, problems),
            "GetAtt" => {} // an attribute of a resource this stack creates
            "Sub" => check_sub(label, args, parameters, problems),
            "Join" => check_join(label, args, parameters, problems),
            other => problems.push(format!(
                "{label}: Resource uses Fn::{other}, which this check cannot see through"
            )),
        }
    }
}

fn check_literal(label: &str, text: &str, problems: &mut Vec<String>) {
    if text.contains('*') {
        problems.push(format!("{label}: Resource {text:?} is a wildcard"));
    }
}

fn check_ref(label: &str, target: &str, parameters: Option<&Mapping>, problems: &mut Vec<String>) {
    if let Some(parameter) = parameters.and_then(|parameters| parameters.get(target)) {
        check_parameter(label, target, parameter, problems);
    }
    // Otherwise a pseudo parameter or a resource of this stack: never a wildcard.
}

/// A parameter that becomes (part of) a Resource must not be able to hold a `*`.
fn check_parameter(label: &str, name: &str, parameter: &Value, problems: &mut Vec<String>) {
    if let Some(values) = parameter.get("AllowedValues") {
        if strings(values).iter().any(|value| value.contains('*')) {
            problems.push(format!("{label}: parameter {name} allows a wildcard value"));
        }
        return;
    }
    match parameter.get("AllowedPattern").and_then(Value::as_str) {
        None => problems.push(format!(
            "{label}: parameter {name} has no AllowedPattern, so it could be \"*\""
        )),
        Some(pattern) if pattern_admits_star(pattern) => problems.push(format!(
            "{label}: parameter {name}'s AllowedPattern {pattern:?} admits a \"*\""
        )),
        Some(_) => {}
    }
}

/// `!Sub text` or `!Sub [text, {Name: value}]`: the literal text with every `${...}` replaced by
/// a placeholder, each placeholder checked for what it can hold.
fn check_sub(label: &str, args: &Value, parameters: Option<&Mapping>, problems: &mut Vec<String>) {
    let (text, variables) = match args {
        Value::String(text) => (text.as_str(), None),
        Value::Sequence(pair) if pair.len() == 2 && pair[0].is_string() => {
            (pair[0].as_str().unwrap_or(""), pair[1].as_mapping())
        }
        _ => {
            problems.push(format!("{label}: Resource has a malformed Fn::Sub"));
            return;
        }
    };
    let mut rendered = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        rendered.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            problems.push(format!("{label}: Resource has an unterminated ${{ in Fn::Sub"));
            return;
        };
        let name = &rest[start + 2..start + end];
        if let Some(literal) = name.strip_prefix('!') {
            rendered.push_str(&format!("${{{literal}}}"));
        } else {
            let name = name.split('.').next().unwrap_or(name);
            match variables.and_then(|variables| variables.get(name)) {
                Some(value) => check_resource(label, value, parameters, problems),
                None => check_ref(label, name, parameters, problems),
            }
            rendered.push('X');
        }
        rest = &rest[start + end + 1..];
    }
    rendered.push_str(rest);
    check_literal(label, &rendered, problems);
}

/// `!Join [separator, [parts]]`: the literal parts joined, every computed part checked.
fn check_join(label: &str, args: &Value, parameters: Option<&Mapping>, problems: &mut Vec<String>) {
    let (Some(separator), Some(parts)) = (
        args.get(0).and_then(Value::as_str),
        args.get(1).and_then(Value::as_sequence),
    ) else {
        problems.push(format!("{label}: Resource has a Fn::Join this check cannot read"));
        return;
    };
    let mut rendered = Vec::new();
    for part in parts {
        match part.as_str() {
            Some(text) => rendered.push(text.to_owned()),
            None => {
                check_resource(label, part, parameters, problems);
                rendered.push("X".to_owned());
            }
        }
    }
    check_literal(label, &rendered.join(separator), problems);
}

/// Whether a CloudFormation AllowedPattern (a Java regular expression the whole value must match)
/// can match a value containing `*`. Conservative: what it does not understand counts as yes.
fn pattern_admits_star(pattern: &str) -> bool {
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => return true,
            '\\' => match chars.next() {
                None => return true,
                Some(escaped)
                    if escaped == '*' || (escaped.is_ascii_alphanumeric() && !"dwsbBAzZ".contains(escaped)) =>
                {
                    return true; // `\*`, or a class like `\S`, `\W`, `\x2a`, `\p{..}` that may hold one
                }
                Some(_) => {} // an escaped literal other than `*`, or a class without it
            },
            '[' if class_admits_star(&mut chars) => return true,
            _ => {} // a literal character, a quantifier or a group
        }
    }
    false
}

/// Reads a character class after its `[`; whether it can match `*`.
fn class_admits_star(chars: &mut std::iter::Peekable<std::str::Chars>) -> bool {
    let negated = chars.next_if_eq(&'^').is_some();
    let mut contains_star = false;
    let mut first = true;
    loop {
        let Some(c) = chars.next() else {
            return true; // unterminated
        };
        if c == ']' && !first {
            break;
        }
        first = false;
        let low = match c {
            '[' | '&' => return true, // nested classes and intersections: not worth reading
            '\\' => match chars.next() {
                Some('d' | 'w' | 's') => continue,
                Some(escaped) if escaped.is_ascii_alphanumeric() => return true,
                Some(escaped) => escaped,
                None => return true,
            },
            c => c,
        };
        let is_range = chars.peek() == Some(&'-') && {
            let mut ahead = chars.clone();
            ahead.next();
            !matches!(ahead.peek(), Some(']') | None)
        };
        if is_range {
            chars.next();
            let high = match chars.next() {
                Some('\\') => match chars.next() {
                    Some(escaped) if !escaped.is_ascii_alphanumeric() => escaped,
                    _ => return true,
                },
                Some(high) => high,
                None => return true,
            };
            contains_star |= (low..=high).contains(&'*');
        } else {
            contains_star |= low == '*';
        }
    }
    contains_star != negated
}

// ------------------------------------------------------------------------------------------------
// Secrets in the environment.

/// Words that make a variable's name say it holds a secret value (not a secret's id or ARN).
const SECRET_WORDS: &[&str] = &[
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "TOKEN",
    "PRIVATE",
    "API_KEY",
    "ACCESS_KEY",
    "CREDENTIAL",
];
const IDENTIFIER_SUFFIXES: &[&str] = &["_ID", "_ARN", "_NAME"];

/// Every environment variable of every function whose value is, or may be, a secret.
fn secret_looking_variables(template: &Value) -> Vec<String> {
    let parameters = parameters(template);
    let mut problems = Vec::new();
    let globals = template.get("Globals").and_then(|globals| globals.get("Function"));
    let functions = resources(template)
        .into_iter()
        .filter(|(_, resource)| {
            matches!(
                resource_type(resource),
                "AWS::Serverless::Function" | "AWS::Lambda::Function"
            )
        })
        .map(|(id, resource)| (id, properties(resource)))
        .chain(globals.map(|globals| ("Globals", globals)));
    for (id, function) in functions {
        let variables = function
            .get("Environment")
            .and_then(|environment| environment.get("Variables"))
            .and_then(Value::as_mapping);
        for (name, value) in variables.into_iter().flatten() {
            let name = name.as_str().unwrap_or("");
            let label = format!("{id}: {name}");
            for text in strings(value) {
                if text.contains("{{resolve:secretsmanager") || text.contains("{{resolve:ssm-secure") {
                    problems.push(format!(
                        "{label}: a dynamic reference puts a secret's value in the environment"
                    ));
                }
            }
            for value in alternatives(value) {
                let Some(target) = ref_target(value) else {
                    continue;
                };
                let no_echo = parameters
                    .and_then(|parameters| parameters.get(target))
                    .and_then(|parameter| parameter.get("NoEcho"))
                    .is_some_and(|no_echo| no_echo.as_bool() == Some(true) || no_echo.as_str() == Some("true"));
                if no_echo {
                    problems.push(format!("{label}: takes the NoEcho parameter {target}, a secret"));
                }
            }
            for text in strings(value) {
                if let Some(reason) = looks_like_a_secret(name, text) {
                    problems.push(format!("{label}: {reason}"));
                }
            }
        }
    }
    problems
}

fn looks_like_a_secret(name: &str, value: &str) -> Option<&'static str> {
    let value = value.trim();
    if value.is_empty() || value.parse::<f64>().is_ok() || matches!(value, "true" | "false") {
        return None;
    }
    if value.contains("-----BEGIN") {
        return Some("holds a PEM block");
    }
    let name = name.to_ascii_uppercase();
    if SECRET_WORDS.iter().any(|word| name.contains(word))
        && !IDENTIFIER_SUFFIXES.iter().any(|suffix| name.ends_with(suffix))
    {
        return Some("a literal value in a variable named like a secret");
    }
    let identifier = value.starts_with("arn:") || value.contains("://") || is_guid(value);
    let classes = [
        value.chars().any(|c| c.is_ascii_lowercase()),
        value.chars().any(|c| c.is_ascii_uppercase()),
        value.chars().any(|c| c.is_ascii_digit()),
        value.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    let random_looking = value.len() >= 20
        && !value.contains(char::is_whitespace)
        && classes.iter().filter(|&&class| class).count() >= 3;
    (!identifier && random_looking).then_some("a long random-looking literal (a key or a client secret?)")
}

fn is_guid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.iter().map(|group| group.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|group| group.chars().all(|c| c.is_ascii_hexdigit()))
}

// ------------------------------------------------------------------------------------------------
// The real template.

fn the_function(template: &Value) -> (&str, &Value) {
    let functions = resources_of_type(template, "AWS::Serverless::Function");
    assert_eq!(functions.len(), 1, "expected exactly one AWS::Serverless::Function");
    functions[0]
}

#[test]
fn the_template_is_a_sam_template() {
    let template = template();
    assert_eq!(
        template.get("Transform").and_then(Value::as_str),
        Some("AWS::Serverless-2016-10-31")
    );
    assert!(!resources(&template).is_empty());
}

#[test]
fn no_secrets_manager_or_kms_statement_allows_a_wildcard_resource() {
    let report = wildcard_grants(&template());
    assert!(
        report.problems.is_empty(),
        "wildcard grants:\n{}",
        report.problems.join("\n")
    );
    // Not vacuous: the statements this rule is about were found and checked.
    for expected in [
        "FunctionRole: statement ReadGraphCredentials",
        "FunctionRole: statement KeepSensorKey",
        "FunctionRole: statement UseKeySecretKmsKey",
        "FunctionRole: statement DecryptGraphCredentials",
    ] {
        assert!(
            report.checked.iter().any(|label| label == expected),
            "{expected} not checked: {:?}",
            report.checked
        );
    }
}

#[test]
fn the_function_role_reaches_the_secrets_with_exactly_the_actions_the_code_uses() {
    let template = template();
    let role = resources(&template)
        .into_iter()
        .find(|(id, _)| *id == "FunctionRole")
        .map(|(_, role)| role)
        .expect("FunctionRole");
    let mut documents = Vec::new();
    policy_documents(properties(role).get("Policies").unwrap_or(&NULL), &mut documents);
    let statements: Vec<&Value> = documents
        .into_iter()
        .flat_map(|document| items(&document["Statement"]))
        .collect();
    // `!Ref X` or `!Sub "${X}"`: the resource X names, exactly.
    let names = |resource: &Value, target: &str| {
        ref_target(resource) == Some(target)
            || matches!(intrinsic(resource), Some((name, args)) if name == "Sub" && args.as_str() == Some(&format!("${{{target}}}")))
    };
    let actions_on = |target: &str| -> Vec<String> {
        let mut actions: Vec<String> = statements
            .iter()
            .filter(|statement| names(&statement["Resource"], target))
            .flat_map(|statement| items(&statement["Action"]))
            .filter_map(|action| action.as_str().map(str::to_owned))
            .collect();
        actions.sort();
        actions
    };
    assert_eq!(
        actions_on("GraphCredentialsSecretArn"),
        ["secretsmanager:GetSecretValue"]
    );
    assert_eq!(
        actions_on("KeySecret"),
        [
            "secretsmanager:DescribeSecret",
            "secretsmanager:GetSecretValue",
            "secretsmanager:PutSecretValue",
            "secretsmanager:UpdateSecretVersionStage"
        ]
    );
    assert_eq!(
        actions_on("RotationClaims"),
        ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"]
    );
    assert_eq!(actions_on("KmsKeyArn"), ["kms:Decrypt", "kms:GenerateDataKey"]);
    assert_eq!(actions_on("CredentialsKmsKeyArn"), ["kms:Decrypt"]);
    // The KMS statements exist only when their key is given.
    for statement in properties(role)["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|policy| {
            policy["PolicyDocument"]["Statement"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
        })
    {
        if let Some((name, args)) = intrinsic(&statement) {
            assert_eq!(name, "If");
            assert!(
                matches!(
                    args[0].as_str(),
                    Some("HasKmsKey" | "HasCredentialsKmsKey" | "UsesCredentialsSecret" | "RotatesKey")
                ),
                "{args:?}"
            );
        }
    }
}

#[test]
fn federation_needs_no_credentials_secret_and_limits_web_identity_tokens_to_entras_audience_rs256_and_sixty_seconds() {
    let template = template();
    let graph_auth = &parameters(&template).unwrap()["GraphAuth"];
    assert_eq!(graph_auth["Default"], "secret");
    assert_eq!(
        graph_auth["AllowedValues"],
        serde_norway::from_str::<Value>("[secret, aws-federation]").unwrap()
    );
    let parameters = parameters(&template).unwrap();
    assert_eq!(
        parameters["GraphCredentialsSecretArn"]["Default"], "",
        "optional in federation mode"
    );
    let rules = template["Rules"].as_mapping().expect("Rules");
    let asserted: Vec<&str> = rules
        .values()
        .flat_map(|rule| rule["Assertions"].as_sequence().cloned().unwrap_or_default())
        .filter_map(|assertion| strings(&assertion["Assert"]).into_iter().next().map(str::to_owned))
        .map(|name| match name.as_str() {
            "GraphCredentialsSecretArn" => "GraphCredentialsSecretArn",
            "GraphTenantId" => "GraphTenantId",
            "GraphClientId" => "GraphClientId",
            _ => "",
        })
        .collect();
    assert_eq!(
        asserted,
        ["GraphCredentialsSecretArn", "GraphTenantId", "GraphClientId"]
    );

    let (_, function) = the_function(&template);
    let variables = &properties(function)["Environment"]["Variables"];
    assert_eq!(ref_target(&variables["GRAPH_AUTH"]), Some("GraphAuth"));
    for (variable, parameter) in [
        ("GRAPH_TENANT_ID", "GraphTenantId"),
        ("GRAPH_CLIENT_ID", "GraphClientId"),
    ] {
        let (name, args) = intrinsic(&variables[variable]).expect("an !If");
        assert_eq!((name.as_str(), args[0].as_str()), ("If", Some("UsesFederation")));
        assert_eq!(ref_target(&args[1]), Some(parameter));
    }

    let role = resources(&template)
        .into_iter()
        .find(|(id, _)| *id == "FunctionRole")
        .map(|(_, role)| role)
        .unwrap();
    let mut documents = Vec::new();
    policy_documents(properties(role).get("Policies").unwrap_or(&NULL), &mut documents);
    let grants: Vec<&Value> = documents
        .into_iter()
        .flat_map(|document| items(&document["Statement"]))
        .filter(|statement| {
            items(&statement["Action"]).iter().any(|action| {
                action
                    .as_str()
                    .is_some_and(|a| a.to_ascii_lowercase().starts_with("sts:"))
            })
        })
        .collect();
    let [grant] = grants.as_slice() else {
        panic!("one STS statement: {grants:?}");
    };
    assert_eq!(grant["Action"], "sts:GetWebIdentityToken");
    let condition = &grant["Condition"];
    let (name, args) = intrinsic(&condition["ForAllValues:StringEquals"]["sts:IdentityTokenAudience"]).unwrap();
    assert_eq!(name, "FindInMap");
    assert_eq!(
        (args[0].as_str(), ref_target(&args[1])),
        (Some("TokenExchangeAudiences"), Some("GraphCloud"))
    );
    assert_eq!(
        condition["Null"]["sts:IdentityTokenAudience"], "false",
        "no request without an audience"
    );
    assert_eq!(
        condition["StringEquals"]["sts:SigningAlgorithm"],
        mdi_sensor_key::federation::SIGNING_ALGORITHM
    );
    let longest = condition["NumericLessThanEquals"]["sts:DurationSeconds"]
        .as_i64()
        .unwrap();
    assert_eq!(
        longest,
        i64::from(mdi_sensor_key::federation::DURATION_SECONDS),
        "no longer token than the function asks for"
    );

    // The mapping allows exactly the audience the code asks for in each cloud; auto, either.
    use mdi_sensor_key::cloud::Cloud;
    let audiences = |cloud: &str| -> Vec<String> {
        template["Mappings"]["TokenExchangeAudiences"][cloud]["Audiences"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect()
    };
    for cloud in [Cloud::Global, Cloud::UsGov, Cloud::Dod] {
        assert_eq!(audiences(cloud.name()), [cloud.token_exchange_audience()]);
    }
    assert_eq!(
        audiences("auto"),
        [
            Cloud::Global.token_exchange_audience(),
            Cloud::UsGov.token_exchange_audience()
        ]
    );
    let allowed = parameters["GraphCloud"]["AllowedValues"].as_sequence().unwrap();
    assert!(
        allowed
            .iter()
            .all(|cloud| template["Mappings"]["TokenExchangeAudiences"].get(cloud).is_some())
    );
}

#[test]
fn the_function_is_the_arm64_bootstrap_on_provided_al2023_built_by_cargo_lambda() {
    let template = template();
    let (_, function) = the_function(&template);
    let p = properties(function);
    assert_eq!(p["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(p["Handler"].as_str(), Some("bootstrap"));
    assert_eq!(p["CodeUri"].as_str(), Some("."));
    let architectures: Vec<&str> = p["Architectures"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(architectures, ["arm64"]);
    assert_eq!(function["Metadata"]["BuildMethod"].as_str(), Some("rust-cargolambda"));
    assert_eq!(
        function["Metadata"]["BuildProperties"]["Binary"].as_str(),
        Some("bootstrap")
    );
    let memory = p["MemorySize"].as_u64().expect("MemorySize");
    let timeout = p["Timeout"].as_u64().expect("Timeout");
    assert!((128..=10240).contains(&memory), "MemorySize {memory}");
    assert!((1..=900).contains(&timeout), "Timeout {timeout}");
}

#[test]
fn every_http_entry_requires_iam_and_nothing_opens_the_function_to_the_public() {
    let template = template();
    let (_, function) = the_function(&template);
    assert_eq!(
        properties(function)["FunctionUrlConfig"]["AuthType"].as_str(),
        Some("AWS_IAM")
    );
    for (id, url) in resources_of_type(&template, "AWS::Lambda::Url") {
        assert_eq!(properties(url)["AuthType"].as_str(), Some("AWS_IAM"), "{id}");
    }
    for (id, permission) in resources_of_type(&template, "AWS::Lambda::Permission") {
        let p = properties(permission);
        assert_ne!(p["Principal"].as_str(), Some("*"), "{id} grants everyone");
        assert_ne!(p["FunctionUrlAuthType"].as_str(), Some("NONE"), "{id}");
    }
    let apis = resources_of_type(&template, "AWS::Serverless::HttpApi");
    for (id, api) in &apis {
        let auth = &properties(api)["Auth"];
        assert_eq!(auth["DefaultAuthorizer"].as_str(), Some("AWS_IAM"), "{id}");
        assert_eq!(auth["EnableIamAuthorizer"].as_bool(), Some(true), "{id}");
        // No route opts out of the default authorizer.
        let mut overrides = Vec::new();
        keys_named(&properties(api)["DefinitionBody"], "security", &mut overrides);
        assert!(overrides.is_empty(), "{id}: a route sets its own security");
    }
    for kind in [
        "AWS::Serverless::Api",
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGatewayV2::Api",
    ] {
        assert!(
            resources_of_type(&template, kind).is_empty(),
            "an API of type {kind} is not checked here"
        );
    }
    assert!(
        properties(function).get("Events").is_none(),
        "function events would add entry points this test does not check"
    );
}

#[test]
fn only_aws_services_scoped_to_a_source_and_the_scheduler_role_may_invoke_the_function() {
    let template = template();
    let (function_id, _) = the_function(&template);
    let permissions = resources_of_type(&template, "AWS::Lambda::Permission");
    assert!(!permissions.is_empty());
    for (id, permission) in permissions {
        let p = properties(permission);
        assert_eq!(p["Action"].as_str(), Some("lambda:InvokeFunction"), "{id}");
        let principal = p["Principal"].as_str().unwrap_or("");
        assert!(
            ["secretsmanager.amazonaws.com", "apigateway.amazonaws.com"].contains(&principal),
            "{id}: unexpected principal {principal:?}"
        );
        assert!(
            p.get("SourceArn").is_some() && p.get("SourceAccount").is_some(),
            "{id}: not scoped to its source"
        );
        if principal == "secretsmanager.amazonaws.com" {
            assert_eq!(ref_target(&p["SourceArn"]), Some("KeySecret"), "{id}");
        }
    }
    // Every identity statement that may invoke a function names this one, in a role only
    // EventBridge Scheduler can assume.
    let mut invokers = 0;
    for (id, resource) in resources(&template) {
        let mut documents = Vec::new();
        policy_documents(properties(resource).get("Policies").unwrap_or(&NULL), &mut documents);
        for statement in documents.into_iter().flat_map(|document| items(&document["Statement"])) {
            let invokes = items(&statement["Action"]).into_iter().any(|action| {
                action
                    .as_str()
                    .is_none_or(|action| glob_matches(&action.to_ascii_lowercase(), "lambda:invokefunction"))
            });
            if !invokes {
                continue;
            }
            invokers += 1;
            assert_eq!(
                get_att(&statement["Resource"]),
                Some((function_id.to_owned(), "Arn".to_owned())),
                "{id}: lambda:InvokeFunction on something other than the function"
            );
            let trusted: Vec<&str> = items(&properties(resource)["AssumeRolePolicyDocument"]["Statement"])
                .into_iter()
                .flat_map(|trust| strings(&trust["Principal"]))
                .collect();
            assert_eq!(trusted, ["scheduler.amazonaws.com"], "{id}");
        }
    }
    assert_eq!(invokers, 1, "expected the scheduler role's one invoke statement");
}

#[test]
fn no_environment_variable_carries_a_secret() {
    let template = template();
    let problems = secret_looking_variables(&template);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let (_, function) = the_function(&template);
    let variables = &properties(function)["Environment"]["Variables"];
    let credentials: Vec<Option<&str>> = alternatives(&variables["GRAPH_CREDENTIALS_SECRET_ID"])
        .into_iter()
        .map(ref_target)
        .collect();
    assert_eq!(
        credentials,
        [Some("GraphCredentialsSecretArn")],
        "set only with GraphAuth=secret"
    );
    assert_eq!(ref_target(&variables["SENSOR_KEY_SECRET_ID"]), Some("KeySecret"));
}

#[test]
fn the_key_secret_starts_as_a_placeholder_that_holds_no_key() {
    let template = template();
    let secrets = resources_of_type(&template, "AWS::SecretsManager::Secret");
    let ids: Vec<&str> = secrets.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        ids,
        ["KeySecret", "RotationClaims"],
        "the key secret and the claim store, no other"
    );
    let (_, secret) = secrets[0];
    let text = properties(secret)["SecretString"]
        .as_str()
        .expect("a literal SecretString");
    let placeholder: serde_json::Value = serde_json::from_str(text).expect("JSON");
    assert_eq!(placeholder, serde_json::json!({ "sensorDeploymentAccessKey": "" }));
    assert!(properties(secret).get("GenerateSecretString").is_none());
}

#[test]
fn the_claim_store_exists_whenever_the_key_rotates_holds_no_key_and_is_named_to_the_function() {
    let template = template();
    let (_, claims) = resources_of_type(&template, "AWS::SecretsManager::Secret")
        .into_iter()
        .find(|(id, _)| *id == "RotationClaims")
        .expect("RotationClaims");
    assert_eq!(claims["Condition"].as_str(), Some("RotatesKey"));
    assert_eq!(
        rotation_mode_of(&template, "RotatesKey"),
        None,
        "a negation: every mode but none"
    );
    let condition = &template["Conditions"]["RotatesKey"];
    let (not, args) = intrinsic(condition).expect("RotatesKey is !Not");
    assert_eq!(not, "Not");
    let (equals, operands) = intrinsic(&args[0]).expect("!Not [!Equals ...]");
    assert_eq!(equals, "Equals");
    assert_eq!(ref_target(&operands[0]), Some("RotationMode"));
    assert_eq!(operands[1].as_str(), Some("none"));
    assert_eq!(properties(claims)["SecretString"].as_str(), Some("{}"));
    let (_, function) = the_function(&template);
    let variable = &properties(function)["Environment"]["Variables"]["ROTATION_CLAIMS_SECRET_ID"];
    let (name, args) = intrinsic(variable).expect("an !If");
    assert_eq!(name, "If");
    assert_eq!(args[0].as_str(), Some("RotatesKey"));
    assert_eq!(ref_target(&args[1]), Some("RotationClaims"));
}

#[test]
fn the_function_logs_json_to_a_log_group_the_stack_keeps_for_a_set_time() {
    let template = template();
    let (_, function) = the_function(&template);
    let logging = &properties(function)["LoggingConfig"];
    assert_eq!(logging["LogFormat"].as_str(), Some("JSON"));
    let group = ref_target(&logging["LogGroup"]).expect("LogGroup is a !Ref to the stack's log group");
    let (_, log_group) = resources_of_type(&template, "AWS::Logs::LogGroup")
        .into_iter()
        .find(|(id, _)| *id == group)
        .expect("the log group is created by the template");
    assert_eq!(
        ref_target(&properties(log_group)["RetentionInDays"]),
        Some("LogRetentionDays")
    );
}

/// The schedule whose input has this `action`.
fn schedule_with_action<'a>(template: &'a Value, action: &str) -> (&'a str, &'a Value) {
    let found: Vec<_> = resources_of_type(template, "AWS::Scheduler::Schedule")
        .into_iter()
        .filter(|(_, schedule)| {
            properties(schedule)["Target"]["Input"]
                .as_str()
                .and_then(|input| serde_json::from_str::<serde_json::Value>(input).ok())
                .is_some_and(|input| input["action"] == action)
        })
        .collect();
    assert_eq!(found.len(), 1, "one schedule sends action {action}");
    found[0]
}

#[test]
fn the_daily_check_runs_whatever_the_rotation_mode_through_the_same_role_and_queue() {
    let template = template();
    let (rotate_id, rotate) = schedule_with_action(&template, "rotate");
    let (check_id, check) = schedule_with_action(&template, "check");
    assert!(
        check.get("Condition").is_none(),
        "{check_id} runs in every RotationMode"
    );
    assert_eq!(properties(check)["ScheduleExpression"].as_str(), Some("rate(1 day)"));
    for field in ["RoleArn", "Arn"] {
        assert_eq!(
            get_att(&properties(check)["Target"][field]),
            get_att(&properties(rotate)["Target"][field]),
            "{check_id} and {rotate_id}: {field}"
        );
    }
    assert_eq!(
        get_att(&properties(check)["Target"]["DeadLetterConfig"]["Arn"]),
        get_att(&properties(rotate)["Target"]["DeadLetterConfig"]["Arn"])
    );
}

#[test]
fn the_scheduled_rotation_sends_the_rotate_input_with_retries_and_a_dead_letter_queue() {
    let template = template();
    let (function_id, function) = the_function(&template);
    let (id, schedule) = schedule_with_action(&template, "rotate");
    assert_eq!(schedule["Condition"].as_str(), Some("HasRotationSchedule"), "{id}");
    let target = &properties(schedule)["Target"];
    assert_eq!(
        get_att(&target["Arn"]),
        Some((function_id.to_owned(), "Arn".to_owned()))
    );
    let input: serde_json::Value =
        serde_json::from_str(target["Input"].as_str().expect("Input")).expect("Input is JSON");
    assert_eq!(
        input,
        serde_json::json!({
            "action": "rotate",
            "scheduleArn": "<aws.scheduler.schedule-arn>",
            "scheduledTime": "<aws.scheduler.scheduled-time>"
        })
    );
    assert!(target["RetryPolicy"]["MaximumRetryAttempts"].as_u64().is_some());
    assert!(target["RetryPolicy"]["MaximumEventAgeInSeconds"].as_u64().is_some());
    let queue_is_created_here = |value: &Value| {
        get_att(value).is_some_and(|(queue, attribute)| {
            attribute == "Arn"
                && resources_of_type(&template, "AWS::SQS::Queue")
                    .iter()
                    .any(|(id, _)| *id == queue)
        })
    };
    assert!(queue_is_created_here(&target["DeadLetterConfig"]["Arn"]));
    let on_failure = &properties(function)["EventInvokeConfig"]["DestinationConfig"]["OnFailure"];
    assert_eq!(on_failure["Type"].as_str(), Some("SQS"));
    assert!(queue_is_created_here(&on_failure["Destination"]));
}

/// The `RotationMode` value a condition stands for: `!Equals [!Ref RotationMode, <value>]`.
fn rotation_mode_of(template: &Value, condition: &str) -> Option<String> {
    let definition = template.get("Conditions")?.get(condition)?;
    let (name, args) = intrinsic(definition)?;
    let pair = args.as_sequence().filter(|_| name == "Equals")?;
    let (parameter, value) = match (ref_target(&pair[0]), ref_target(&pair[1])) {
        (Some(parameter), None) => (parameter, &pair[1]),
        (None, Some(parameter)) => (parameter, &pair[0]),
        _ => return None,
    };
    (parameter == "RotationMode").then(|| value.as_str().map(str::to_owned))?
}

#[test]
fn scheduled_and_native_rotation_are_one_choice_so_both_never_run_at_once() {
    let template = template();
    let mode = &parameters(&template).expect("Parameters")["RotationMode"];
    let allowed: Vec<_> = mode["AllowedValues"]
        .as_sequence()
        .expect("RotationMode has AllowedValues")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(allowed, ["scheduler", "native", "none"]);
    assert_eq!(mode["Default"].as_str(), Some("scheduler"));
    assert!(
        parameters(&template).unwrap().get("EnableNativeRotation").is_none(),
        "no second switch that could turn both on"
    );
    assert_eq!(
        rotation_mode_of(&template, "HasRotationSchedule").as_deref(),
        Some("scheduler")
    );
    assert_eq!(
        rotation_mode_of(&template, "NativeRotationEnabled").as_deref(),
        Some("native")
    );
    let (_, rotate) = schedule_with_action(&template, "rotate");
    assert_eq!(rotate["Condition"].as_str(), Some("HasRotationSchedule"));
    let native = resources_of_type(&template, "AWS::SecretsManager::RotationSchedule");
    assert_eq!(native.len(), 1);
    assert_eq!(native[0].1["Condition"].as_str(), Some("NativeRotationEnabled"));
    for (id, permission) in resources_of_type(&template, "AWS::Lambda::Permission") {
        if properties(permission)["Principal"].as_str() == Some("secretsmanager.amazonaws.com") {
            assert_eq!(permission["Condition"].as_str(), Some("NativeRotationEnabled"), "{id}");
        }
    }
}

#[test]
fn a_stack_update_never_regenerates_the_key_natively_it_only_tests_the_configuration() {
    let template = template();
    let native = resources_of_type(&template, "AWS::SecretsManager::RotationSchedule");
    assert_eq!(native.len(), 1);
    // Explicit: CloudFormation's default (true) would regenerate at Microsoft on every update
    // that touches the schedule.
    assert_eq!(
        properties(native[0].1)["RotateImmediatelyOnUpdate"].as_bool(),
        Some(false),
        "{}",
        native[0].0
    );
}

#[test]
fn a_failed_native_rotation_of_the_key_secret_reaches_a_queue_and_an_alarm_through_rotation_failed() {
    let template = template();
    let rules = resources_of_type(&template, "AWS::Events::Rule");
    let (rule_id, rule) = rules
        .iter()
        .find(|(_, rule)| {
            items(&properties(rule)["EventPattern"]["detail"]["eventName"])
                .iter()
                .any(|name| name.as_str() == Some("RotationFailed"))
        })
        .expect("a rule on Secrets Manager's RotationFailed");
    assert_eq!(rule["Condition"].as_str(), Some("NativeRotationEnabled"));
    let pattern = &properties(rule)["EventPattern"];
    let strings = |value: &Value| -> Vec<String> {
        items(value)
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(strings(&pattern["source"]), ["aws.secretsmanager"]);
    assert_eq!(strings(&pattern["detail-type"]), ["AWS Service Event via CloudTrail"]);
    assert_eq!(
        strings(&pattern["detail"]["eventSource"]),
        ["secretsmanager.amazonaws.com"]
    );
    assert_eq!(
        strings(&pattern["detail"]["eventName"]),
        ["RotationFailed", "TestRotationFailed"]
    );
    let secret = items(&pattern["detail"]["additionalEventData"]["SecretId"]);
    assert_eq!(secret.len(), 1);
    assert_eq!(ref_target(secret[0]), Some("KeySecret"), "the key secret's events only");
    let targets = items(&properties(rule)["Targets"]);
    assert_eq!(targets.len(), 1);
    let (queue, attribute) = get_att(&targets[0]["Arn"]).expect("a queue's ARN");
    assert_eq!(attribute, "Arn");
    let (_, queue_resource) = resources(&template)
        .into_iter()
        .find(|(id, _)| *id == queue)
        .expect("the target queue");
    assert_eq!(resource_type(queue_resource), "AWS::SQS::Queue");
    assert_eq!(queue_resource["Condition"].as_str(), Some("NativeRotationEnabled"));
    // Only this rule may send to it.
    let policy = resources_of_type(&template, "AWS::SQS::QueuePolicy")
        .into_iter()
        .find(|(_, policy)| {
            items(&properties(policy)["Queues"])
                .iter()
                .any(|q| ref_target(q) == Some(queue.as_str()))
        })
        .map(|(_, policy)| policy)
        .expect("the queue's policy");
    let sends: Vec<&Value> = items(&properties(policy)["PolicyDocument"]["Statement"])
        .into_iter()
        .filter(|statement| statement["Effect"].as_str() == Some("Allow"))
        .collect();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0]["Principal"]["Service"].as_str(), Some("events.amazonaws.com"));
    let source = get_att(&sends[0]["Condition"]["ArnEquals"]["aws:SourceArn"]).expect("scoped to the rule");
    assert_eq!((source.0.as_str(), source.1.as_str()), (*rule_id, "Arn"));
    // And an alarm watches it, in native mode.
    let alarm = resources_of_type(&template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .find(|(_, alarm)| {
            items(&properties(alarm)["Dimensions"])
                .iter()
                .any(|dimension| get_att(&dimension["Value"]).is_some_and(|(id, _)| id == queue))
        })
        .map(|(_, alarm)| alarm)
        .expect("an alarm on the queue");
    assert_eq!(alarm["Condition"].as_str(), Some("NativeRotationEnabled"));
    assert_eq!(
        properties(alarm)["MetricName"].as_str(),
        Some("ApproximateNumberOfMessagesVisible")
    );
}

/// The statements of a managed policy's document.
fn managed_policy_statements<'a>(template: &'a Value, id: &str) -> Vec<&'a Value> {
    let (_, policy) = resources_of_type(template, "AWS::IAM::ManagedPolicy")
        .into_iter()
        .find(|(found, _)| *found == id)
        .unwrap_or_else(|| panic!("{id} is a managed policy of the template"));
    items(&properties(policy)["PolicyDocument"]["Statement"])
}

fn actions(statement: &Value) -> Vec<String> {
    items(&statement["Action"])
        .into_iter()
        .filter_map(Value::as_str)
        .map(str::to_ascii_lowercase)
        .collect()
}

#[test]
fn the_caller_policies_grant_invoke_function_only_through_the_url_and_are_outputs() {
    let template = template();
    let (function_id, _) = the_function(&template);
    let function_arn = Some((function_id.to_owned(), "Arn".to_owned()));
    for (id, output) in [
        ("KeyReaderPolicy", "KeyReaderPolicyArn"),
        ("KeyRotatorPolicy", "KeyRotatorPolicyArn"),
        ("SensorActivatorPolicy", "SensorActivatorPolicyArn"),
    ] {
        let statements = managed_policy_statements(&template, id);
        let invoke: Vec<_> = statements
            .iter()
            .filter(|statement| actions(statement).iter().any(|a| a == "lambda:invokefunction"))
            .collect();
        assert_eq!(invoke.len(), 1, "{id}");
        assert_eq!(get_att(&invoke[0]["Resource"]), function_arn, "{id}");
        assert_eq!(
            invoke[0]["Condition"]["Bool"]["lambda:InvokedViaFunctionUrl"].as_str(),
            Some("true"),
            "{id}: lambda:InvokeFunction without the URL condition lets a holder forge any caller"
        );
        let url: Vec<_> = statements
            .iter()
            .filter(|statement| actions(statement) == ["lambda:invokefunctionurl"])
            .collect();
        assert_eq!(url.len(), 1, "{id}");
        assert_eq!(get_att(&url[0]["Resource"]), function_arn, "{id}");
        assert_eq!(
            url[0]["Condition"]["StringEquals"]["lambda:FunctionUrlAuthType"].as_str(),
            Some("AWS_IAM"),
            "{id}"
        );
        for statement in &statements {
            let lambda = actions(statement).iter().any(|a| a.starts_with("lambda:"));
            assert!(
                !lambda
                    || actions(statement)
                        .iter()
                        .all(|a| a == "lambda:invokefunction" || a == "lambda:invokefunctionurl"),
                "{id}: no other Lambda action"
            );
        }
        let outputs = template.get("Outputs").expect("Outputs");
        assert_eq!(ref_target(&outputs[output]["Value"]), Some(id), "{output}");
    }
}

#[test]
fn the_scheduler_role_trusts_only_its_own_schedule_group_in_this_account() {
    let template = template();
    let (_, role) = resources(&template)
        .into_iter()
        .find(|(id, _)| *id == "RotationScheduleRole")
        .expect("the scheduler role");
    let trust = items(&properties(role)["AssumeRolePolicyDocument"]["Statement"]);
    assert_eq!(trust.len(), 1);
    let condition = &trust[0]["Condition"]["StringEquals"];
    assert_eq!(ref_target(&condition["aws:SourceAccount"]), Some("AWS::AccountId"));
    let (group, attribute) = get_att(&condition["aws:SourceArn"]).expect("aws:SourceArn names a resource");
    assert_eq!(attribute, "Arn");
    let groups = resources_of_type(&template, "AWS::Scheduler::ScheduleGroup");
    assert_eq!(groups.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [group.as_str()]);
    let schedules = resources_of_type(&template, "AWS::Scheduler::Schedule");
    assert_eq!(
        schedules.len(),
        2,
        "the group holds this stack's rotate and check schedules alone"
    );
    for (id, schedule) in schedules {
        assert_eq!(
            ref_target(&properties(schedule)["GroupName"]),
            Some(group.as_str()),
            "{id}"
        );
    }
}

#[test]
fn the_key_secret_refuses_reads_by_all_but_the_function_role_and_named_readers() {
    let template = template();
    let policies = resources_of_type(&template, "AWS::SecretsManager::ResourcePolicy");
    assert_eq!(policies.len(), 1);
    let policy = properties(policies[0].1);
    assert_eq!(ref_target(&policy["SecretId"]), Some("KeySecret"));
    assert_eq!(policy["BlockPublicPolicy"].as_bool(), Some(true));
    let statements = items(&policy["ResourcePolicy"]["Statement"]);
    let deny = statements
        .iter()
        .find(|statement| statement["Effect"].as_str() == Some("Deny"))
        .expect("a Deny statement");
    assert_eq!(actions(deny), ["secretsmanager:getsecretvalue"]);
    assert_eq!(deny["Principal"].as_str(), Some("*"));
    let allowed = &deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"];
    let text = format!("{allowed:?}");
    assert!(text.contains("FunctionRole"), "the function's role is exempt: {text}");
    assert!(text.contains("KeySecretReaders"), "and the parameter's list: {text}");
    assert!(
        statements
            .iter()
            .all(|statement| statement["Effect"].as_str() == Some("Deny")),
        "the secret's own policy grants nothing"
    );
}

#[test]
fn every_alarm_on_the_functions_metrics_filters_on_this_stacks_service() {
    let template = template();
    let (_, function) = the_function(&template);
    let variables = &properties(function)["Environment"]["Variables"];
    let namespace = variables["POWERTOOLS_METRICS_NAMESPACE"]
        .as_str()
        .expect("a fixed namespace");
    assert_eq!(
        ref_target(&variables["POWERTOOLS_SERVICE_NAME"]),
        Some("AWS::StackName")
    );
    let mut metrics = Vec::new();
    for (id, alarm) in resources_of_type(&template, "AWS::CloudWatch::Alarm") {
        let p = properties(alarm);
        if p["Namespace"].as_str() != Some(namespace) {
            // AWS/Lambda and AWS/SQS alarms name this stack's function or queue instead.
            assert!(p["Namespace"].as_str().is_some_and(|ns| ns.starts_with("AWS/")), "{id}");
            continue;
        }
        let service = items(&p["Dimensions"])
            .into_iter()
            .find(|dimension| dimension["Name"].as_str() == Some("service"))
            .unwrap_or_else(|| panic!("{id} does not filter on service"));
        assert_eq!(ref_target(&service["Value"]), Some("AWS::StackName"), "{id}");
        metrics.push(p["MetricName"].as_str().unwrap_or("").to_owned());
    }
    metrics.sort();
    assert_eq!(
        metrics,
        ["CertificateDaysToExpiry", "KeyAgeDays", "KeyReads", "Rotations"],
        "key reads failing, key age, certificate expiry and rotation failures are watched"
    );
}

#[test]
fn every_alarm_notifies_the_optional_topic_and_every_queue_has_one() {
    let template = template();
    let alarms = resources_of_type(&template, "AWS::CloudWatch::Alarm");
    for (id, alarm) in &alarms {
        let p = properties(alarm);
        assert_eq!(p["TreatMissingData"].as_str(), Some("notBreaching"), "{id}");
        let actions = intrinsic(&p["AlarmActions"]).expect("AlarmActions is an !If");
        assert_eq!(actions.0, "If", "{id}");
        assert_eq!(actions.1[0].as_str(), Some("HasAlarmTopic"), "{id}");
    }
    let watched = |metric: &str, dimension: Option<&str>| {
        alarms.iter().any(|(_, alarm)| {
            let p = properties(alarm);
            p["MetricName"].as_str() == Some(metric)
                && dimension.is_none_or(|queue| {
                    items(&p["Dimensions"])
                        .iter()
                        .any(|dimension| get_att(&dimension["Value"]).is_some_and(|(id, _)| id == queue))
                })
        })
    };
    assert!(watched("Errors", None));
    assert!(watched("Throttles", None));
    for (queue, _) in resources_of_type(&template, "AWS::SQS::Queue") {
        assert!(
            watched("ApproximateNumberOfMessagesVisible", Some(queue)),
            "no alarm on {queue}"
        );
    }
}

// ------------------------------------------------------------------------------------------------
// The checkers, on templates that break the rules.

const ROLE_TEMPLATE: &str = r#"
Parameters:
  OpenParameter: {Type: String}
  LoosePattern: {Type: String, AllowedPattern: "^arn:.+$"}
  TightParameter:
    Type: String
    AllowedPattern: ^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$
  OptionalKey:
    Type: String
    Default: ""
    AllowedPattern: ^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+)?$
Conditions:
  HasKey: !Not [!Equals [!Ref OptionalKey, ""]]
Resources:
  Secret: {Type: AWS::SecretsManager::Secret}
  Key:
    Type: AWS::KMS::Key
    Properties:
      KeyPolicy:
        Statement:
          - {Effect: Allow, Principal: {AWS: "*"}, Action: "kms:*", Resource: "*"}
  Role:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: under-test
          PolicyDocument:
            Statement:
              - STATEMENT
"#;

fn role_with(statement: &str) -> Value {
    parse(&ROLE_TEMPLATE.replace("STATEMENT", statement))
}

#[test]
fn the_wildcard_checker_catches_every_spelling_of_a_wildcard() {
    let cases = [
        r#"{Effect: Allow, Action: secretsmanager:GetSecretValue, Resource: "*"}"#,
        r#"{Effect: Allow, Action: [kms:Decrypt], Resource: ["arn:aws:kms:us-east-1:123456789012:key/k", "*"]}"#,
        r#"{Effect: Allow, Action: "secretsmanager:*", Resource: !Sub "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:*"}"#,
        r#"{Effect: Allow, Action: "*", Resource: "*"}"#,
        r#"{Effect: Allow, Action: "kms:*", Resource: !If [HasKey, !Ref OptionalKey, "*"]}"#,
        r#"{Effect: Allow, Action: secretsmanager:GetSecretValue, Resource: !Join [":", ["arn:aws:secretsmanager:us-east-1:123456789012:secret", "*"]]}"#,
        r#"{Effect: Allow, Action: secretsmanager:GetSecretValue, Resource: !Ref OpenParameter}"#,
        r#"{Effect: Allow, Action: secretsmanager:GetSecretValue, Resource: !Ref LoosePattern}"#,
        r#"{Effect: Allow, Action: secretsmanager:GetSecretValue, Resource: !Sub "arn:aws:secretsmanager:us-east-1:123456789012:secret:${OpenParameter}"}"#,
        r#"{Effect: Allow, NotAction: "iam:*", Resource: "*"}"#,
        r#"{Effect: Allow, Action: kms:Decrypt, NotResource: "arn:aws:kms:us-east-1:123456789012:key/k"}"#,
        r#"{Effect: Allow, Action: "secrets*:Get*", Resource: {"Fn::Sub": "arn:aws:secretsmanager:us-east-1:123456789012:secret:mdi-*"}}"#,
        r#"{Effect: Allow, Action: kms:Decrypt, Resource: !ImportValue shared-key}"#,
        r#"{Effect: Allow, Action: kms:Decrypt}"#,
        r#"!If [HasKey, {Effect: Allow, Action: kms:GenerateDataKey, Resource: "arn:aws:kms:us-east-1:123456789012:key/*"}, !Ref AWS::NoValue]"#,
    ];
    for statement in cases {
        let report = wildcard_grants(&role_with(statement));
        assert!(!report.problems.is_empty(), "not caught: {statement}");
    }
}

#[test]
fn the_wildcard_checker_catches_policies_that_hide_their_resources() {
    let cases = [
        "Policies: [SecretsManagerReadWrite]",
        "Policies: [{AWSSecretsManagerRotationPolicy: {FunctionName: f}}]",
        "Policies: {Statement: [{Effect: Allow, Action: kms:Decrypt, Resource: \"*\"}]}",
    ];
    for policies in cases {
        let text = format!(
            "Resources:\n  Function:\n    Type: AWS::Serverless::Function\n    Properties:\n      {policies}\n"
        );
        assert!(
            !wildcard_grants(&parse(&text)).problems.is_empty(),
            "not caught: {policies}"
        );
    }
    let managed = parse(
        "Resources:\n  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      ManagedPolicyArns: [arn:aws:iam::aws:policy/SecretsManagerReadWrite]\n",
    );
    assert!(!wildcard_grants(&managed).problems.is_empty());
    let standalone = parse(
        "Resources:\n  Policy:\n    Type: AWS::IAM::Policy\n    Properties:\n      PolicyDocument:\n        Statement:\n          - Effect: Allow\n            Action: secretsmanager:PutSecretValue\n            Resource: '*'\n",
    );
    assert!(!wildcard_grants(&standalone).problems.is_empty());
}

#[test]
fn the_wildcard_checker_accepts_named_resources_denials_and_other_services() {
    let cases = [
        r#"{Effect: Allow, Action: secretsmanager:GetSecretValue, Resource: !Ref Secret}"#,
        r#"{Effect: Allow, Action: secretsmanager:GetSecretValue, Resource: !Ref TightParameter}"#,
        r#"{Effect: Allow, Action: [kms:Decrypt], Resource: !GetAtt Key.Arn}"#,
        r#"{Effect: Allow, Action: [kms:Decrypt], Resource: !If [HasKey, !Ref OptionalKey, !Ref AWS::NoValue]}"#,
        r#"{Effect: Allow, Action: secretsmanager:DescribeSecret, Resource: !Sub "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${Secret}"}"#,
        r#"{Effect: Deny, Action: "secretsmanager:*", Resource: "*", Condition: {Bool: {aws:SecureTransport: "false"}}}"#,
        r#"{Effect: Allow, Action: [logs:CreateLogStream, logs:PutLogEvents], Resource: "*"}"#,
    ];
    for statement in cases {
        let report = wildcard_grants(&role_with(statement));
        assert!(report.problems.is_empty(), "{statement}: {:?}", report.problems);
    }
}

#[test]
fn the_environment_checker_catches_secret_values_and_lets_ids_through() {
    let with_variable = |name: &str, value: &str| {
        parse(&format!(
            "Parameters:\n  Hidden: {{Type: String, NoEcho: true}}\nResources:\n  Function:\n    Type: AWS::Serverless::Function\n    Properties:\n      Environment:\n        Variables:\n          {name}: {value}\n"
        ))
    };
    let secrets = [
        ("GRAPH_CLIENT_SECRET", r#""not-random-but-named-a-secret""#),
        ("CLIENT", r#""Abc8Q~q0A1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv""#),
        (
            "MDI_KEY",
            r#""Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6QUJD""#,
        ),
        (
            "CREDENTIALS",
            "'{{resolve:secretsmanager:mdi/graph:SecretString:clientSecret}}'",
        ),
        ("ANYTHING", "!Sub '{{resolve:ssm-secure:/mdi/${AWS::StackName}}}'"),
        ("ANYTHING", "!Ref Hidden"),
        ("CERT", r#""-----BEGIN PRIVATE KEY-----""#),
    ];
    for (name, value) in secrets {
        assert!(
            !secret_looking_variables(&with_variable(name, value)).is_empty(),
            "not caught: {name}={value}"
        );
    }
    let harmless = [
        ("GRAPH_CREDENTIALS_SECRET_ID", "!Ref Hidden2"),
        ("GRAPH_CREDENTIALS_SECRET_ID", r#""mdi/graph-credentials""#),
        ("CREDENTIALS_CACHE_TTL_SECONDS", r#""300""#),
        ("GRAPH_CLOUD", "global"),
        (
            "KEY_READERS",
            r#""arn:aws:iam::123456789012:role/sensor-installer,arn:aws:iam::123456789012:user/ops-*""#,
        ),
        ("TENANT_HINT", r#""0f5e4c43-6f1e-4a5f-8c2a-5b1d2e3f4a5b""#),
        ("GRAPH_ENDPOINT", r#""https://graph.microsoft.com/beta?x=AbC123-_""#),
    ];
    for (name, value) in harmless {
        let problems = secret_looking_variables(&with_variable(name, value));
        assert!(problems.is_empty(), "{name}={value}: {problems:?}");
    }
}

#[test]
fn the_pattern_reader_knows_which_allowed_patterns_can_produce_a_star() {
    for pattern in [
        ".*",
        "^arn:.+$",
        "[^a]+",
        "\\*",
        "[*]",
        "[!-/]",
        "\\S+",
        "[\\x2a]",
        "\\p{Punct}",
        "[a-z",
    ] {
        assert!(pattern_admits_star(pattern), "{pattern} can match a *");
    }
    for pattern in [
        "^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$",
        "^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+)?$",
        "[^*a]",
        "[a-z\\-]+\\.\\w+\\d",
        "^(rate|cron)\\(x\\)$",
    ] {
        assert!(!pattern_admits_star(pattern), "{pattern} cannot match a *");
    }
}
