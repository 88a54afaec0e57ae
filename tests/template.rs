//! The SAM template's security promises, checked on `template.yaml` itself: no IAM statement
//! allows a Secrets Manager or KMS action on a wildcard resource, every HTTP entry demands IAM,
//! each door (the HTTP function, the event function) is reached by its own entries and no other,
//! the key secret's policy keeps reads to named readers and changes to the function, break-glass
//! and CloudFormation (evaluated as IAM evaluates a Deny), the allow-lists' patterns refuse
//! malformed lists, no environment variable carries a secret, and the functions are the arm64
//! `bootstrap` that cargo-lambda builds.
//!
//! Where the stack runs (issue 25): a small evaluator decides the template's `Conditions` for a
//! region and parameter values, and renders values under them, so that for each region of a table
//! of AWS's published facts every resource created there exists there, the default parameters
//! give exactly one door, the logs stay JSON lines and STS is sent only to endpoints it has.
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

/// SAM's `Globals.Function` merged into one function's properties, as SAM's globals plugin does
/// it: maps merge key by key with the function's own value winning, anything else is replaced.
fn merged(global: &Value, own: &Value) -> Value {
    match (global, own) {
        (Value::Mapping(global), Value::Mapping(own)) => {
            let mut out = global.clone();
            for (key, value) in own {
                let value = match global.get(key) {
                    Some(inner) => merged(inner, value),
                    None => value.clone(),
                };
                out.insert(key.clone(), value);
            }
            Value::Mapping(out)
        }
        (_, Value::Null) => global.clone(),
        (_, own) => own.clone(),
    }
}

/// Every `AWS::Serverless::Function`: its logical id, the resource, and its properties with the
/// template's `Globals.Function` merged in.
fn functions(template: &Value) -> Vec<(&str, &Value, Value)> {
    let globals = template
        .get("Globals")
        .and_then(|globals| globals.get("Function"))
        .unwrap_or(&NULL);
    resources_of_type(template, "AWS::Serverless::Function")
        .into_iter()
        .map(|(id, resource)| (id, resource, merged(globals, properties(resource))))
        .collect()
}

/// The doors the function can serve, as its own configuration names them (FUNCTION_DOOR): the
/// contract phase 2's handler reads (docs/security.md, "Two doors").
const DOORS: [&str; 2] = ["http", "events"];

/// The function serving `door`: its logical id and its merged properties.
fn door(template: &Value, door: &str) -> (String, Value) {
    let found: Vec<_> = functions(template)
        .into_iter()
        .filter(|(_, _, p)| p["Environment"]["Variables"]["FUNCTION_DOOR"].as_str() == Some(door))
        .collect();
    assert_eq!(found.len(), 1, "exactly one function serves the {door} door");
    let (id, _, merged) = &found[0];
    ((*id).to_owned(), merged.clone())
}

fn the_function(template: &Value) -> (String, Value) {
    door(template, "http")
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
    let variables = &function["Environment"]["Variables"];
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
fn each_function_is_the_arm64_bootstrap_on_provided_al2023_built_by_cargo_lambda() {
    let template = template();
    let functions = functions(&template);
    assert_eq!(functions.len(), 2, "one function per door");
    for (id, function, p) in functions {
        the_arm64_bootstrap(id, function, &p);
    }
}

fn the_arm64_bootstrap(id: &str, function: &Value, p: &Value) {
    assert_eq!(p["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(p["Handler"].as_str(), Some("bootstrap"));
    assert_eq!(p["CodeUri"].as_str(), Some("."));
    let architectures: Vec<&str> = p["Architectures"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(architectures, ["arm64"], "{id}");
    // The same Metadata, CodeUri, Runtime and Architectures for both: SAM CLI builds them once.
    assert_eq!(
        function["Metadata"]["BuildMethod"].as_str(),
        Some("rust-cargolambda"),
        "{id}"
    );
    assert_eq!(
        function["Metadata"]["BuildProperties"]["Binary"].as_str(),
        Some("bootstrap"),
        "{id}"
    );
    let memory = p["MemorySize"].as_u64().expect("MemorySize");
    let timeout = p["Timeout"].as_u64().expect("Timeout");
    assert!((128..=10240).contains(&memory), "MemorySize {memory}");
    assert!((1..=900).contains(&timeout), "Timeout {timeout}");
    assert_eq!(
        get_att(&p["Role"]),
        Some(("FunctionRole".to_owned(), "Arn".to_owned())),
        "{id}: both doors run as the one role the key secret and the federated credential name"
    );
}

#[test]
fn every_http_entry_requires_iam_and_nothing_opens_the_function_to_the_public() {
    let template = template();
    let urls = resources_of_type(&template, "AWS::Lambda::Url");
    assert_eq!(urls.len(), 1, "the function URL, a resource of its own");
    for (id, url) in urls {
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
    for (id, _, function) in functions(&template) {
        for entry in ["Events", "FunctionUrlConfig", "AutoPublishAlias"] {
            assert!(
                function.get(entry).is_none(),
                "{id}: {entry} would add an entry point (or a qualifier) this test does not check"
            );
        }
    }
}

/// The function an invoke target names: `!GetAtt F.Arn`, `!Ref F`, or a `!Sub` holding
/// `${F.Arn}` (the HTTP API's integration URI).
fn function_named(value: &Value) -> Option<String> {
    if let Some((id, attribute)) = get_att(value) {
        return (attribute == "Arn").then_some(id);
    }
    if let Some(id) = ref_target(value) {
        return Some(id.to_owned());
    }
    match intrinsic(value) {
        Some((name, text)) if name == "Sub" => {
            let text = text.as_str()?;
            let end = text.find(".Arn}")?;
            let start = text[..end].rfind("${")? + 2;
            Some(text[start..end].to_owned())
        }
        _ => None,
    }
}

/// Issue 21 §1: every way into a function, and the door it reaches. The HTTP entries (function
/// URL, HTTP API, the caller policies) reach the HTTP door alone; the event sources (the
/// schedules and their role, Secrets Manager's permission and rotation) the event door alone.
#[test]
fn each_door_is_reached_by_its_own_entries_and_no_other() {
    let template = template();
    let (http, _) = door(&template, "http");
    let (events, events_function) = door(&template, "events");
    for (id, resource, function) in functions(&template) {
        let set = &function["Environment"]["Variables"]["FUNCTION_DOOR"];
        assert!(
            DOORS.contains(&set.as_str().unwrap_or("")),
            "{id}: FUNCTION_DOOR {set:?} is not a door"
        );
        assert!(
            properties(resource)["Environment"]["Variables"]
                .get("FUNCTION_DOOR")
                .is_some(),
            "{id}: the door is the function's own setting, not a global one"
        );
    }
    assert!(
        template["Globals"]["Function"]["Environment"]["Variables"]
            .get("FUNCTION_DOOR")
            .is_none()
    );

    let mut entries: Vec<(String, Option<String>)> = Vec::new();
    for (id, url) in resources_of_type(&template, "AWS::Lambda::Url") {
        entries.push((
            format!("{id} (function URL)"),
            function_named(&properties(url)["TargetFunctionArn"]),
        ));
    }
    for (id, api) in resources_of_type(&template, "AWS::Serverless::HttpApi") {
        let mut uris = Vec::new();
        keys_named(&properties(api)["DefinitionBody"], "uri", &mut uris);
        assert!(!uris.is_empty(), "{id}: an integration");
        for uri in uris {
            entries.push((format!("{id} (HTTP API integration)"), function_named(uri)));
        }
    }
    let mut sources: Vec<(String, Option<String>)> = Vec::new();
    for (id, permission) in resources_of_type(&template, "AWS::Lambda::Permission") {
        let p = properties(permission);
        assert_eq!(p["Action"].as_str(), Some("lambda:InvokeFunction"), "{id}");
        assert!(
            p.get("SourceArn").is_some() && p.get("SourceAccount").is_some(),
            "{id}: not scoped to its source"
        );
        let reached = function_named(&p["FunctionName"]);
        match p["Principal"].as_str().unwrap_or("") {
            "apigateway.amazonaws.com" => entries.push((format!("{id} (API Gateway)"), reached)),
            "secretsmanager.amazonaws.com" => {
                assert_eq!(ref_target(&p["SourceArn"]), Some("KeySecret"), "{id}");
                sources.push((format!("{id} (Secrets Manager)"), reached));
            }
            other => panic!("{id}: unexpected principal {other:?}"),
        }
    }
    for (id, rotation) in resources_of_type(&template, "AWS::SecretsManager::RotationSchedule") {
        sources.push((
            format!("{id} (native rotation)"),
            function_named(&properties(rotation)["RotationLambdaARN"]),
        ));
    }
    for (id, schedule) in resources_of_type(&template, "AWS::Scheduler::Schedule") {
        sources.push((
            format!("{id} (schedule)"),
            function_named(&properties(schedule)["Target"]["Arn"]),
        ));
    }
    // Identity statements that may invoke a function: the scheduler role's (an event source) and
    // the caller policies' (HTTP entries, only through the URL).
    for (id, resource) in resources(&template) {
        let mut documents = Vec::new();
        policy_documents(properties(resource), &mut documents);
        for statement in documents.into_iter().flat_map(|document| items(&document["Statement"])) {
            if statement["Effect"].as_str() == Some("Deny") {
                continue;
            }
            let invokes = items(&statement["Action"]).into_iter().any(|action| {
                action.as_str().is_none_or(|action| {
                    let action = action.to_ascii_lowercase();
                    glob_matches(&action, "lambda:invokefunction") || glob_matches(&action, "lambda:invokefunctionurl")
                })
            });
            if !invokes {
                continue;
            }
            let reached = function_named(&statement["Resource"]);
            if resource_type(resource) == "AWS::IAM::ManagedPolicy" {
                entries.push((format!("{id} (caller policy)"), reached));
                continue;
            }
            let trusted: Vec<&str> = items(&properties(resource)["AssumeRolePolicyDocument"]["Statement"])
                .into_iter()
                .flat_map(|trust| strings(&trust["Principal"]))
                .collect();
            assert_eq!(trusted, ["scheduler.amazonaws.com"], "{id}: who else invokes?");
            sources.push((format!("{id} (scheduler role)"), reached));
        }
    }
    assert!(entries.len() >= 5 && sources.len() >= 4, "{entries:?} {sources:?}");
    for (entry, reached) in entries {
        assert_eq!(
            reached.as_deref(),
            Some(http.as_str()),
            "{entry} must reach the HTTP door"
        );
    }
    for (source, reached) in sources {
        assert_eq!(
            reached.as_deref(),
            Some(events.as_str()),
            "{source} must reach the event door"
        );
    }
    // Asynchronous retries and their on-failure queue belong to the event door; the HTTP door
    // answers synchronously.
    assert!(events_function.get("EventInvokeConfig").is_some());
    assert!(the_function(&template).1.get("EventInvokeConfig").is_none());
}

#[test]
fn no_environment_variable_carries_a_secret() {
    let template = template();
    let problems = secret_looking_variables(&template);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let (_, function) = the_function(&template);
    let variables = &function["Environment"]["Variables"];
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
    // Only the event door rotates (docs/security.md, "Two doors").
    let (_, function) = door(&template, "events");
    let variable = &function["Environment"]["Variables"]["ROTATION_CLAIMS_SECRET_ID"];
    let (name, args) = intrinsic(variable).expect("an !If");
    assert_eq!(name, "If");
    assert_eq!(args[0].as_str(), Some("RotatesKey"));
    assert_eq!(ref_target(&args[1]), Some("RotationClaims"));
}

#[test]
fn both_doors_log_to_one_log_group_the_stack_keeps_for_a_set_time() {
    let template = template();
    let (_, function) = the_function(&template);
    let (_, events) = door(&template, "events");
    let logging = &function["LoggingConfig"];
    assert_eq!(
        logging["LogGroup"], events["LoggingConfig"]["LogGroup"],
        "one audit trail"
    );
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
    let (function_id, function) = door(&template, "events");
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
    let on_failure = &function["EventInvokeConfig"]["DestinationConfig"]["OnFailure"];
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
    let function_arn = Some((function_id.clone(), "Arn".to_owned()));
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
    let variables = &function["Environment"]["Variables"];
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
        [
            "CertificateDaysToExpiry",
            "DoorRefusals",
            "KeyAgeDays",
            "KeyReads",
            "Rotations"
        ],
        "key reads failing, key age, certificate expiry, rotation failures and wrong-door events are watched"
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
    for (function, _, _) in functions(&template) {
        for metric in ["Errors", "Throttles"] {
            let on_this_function = alarms.iter().any(|(_, alarm)| {
                let p = properties(alarm);
                p["MetricName"].as_str() == Some(metric)
                    && items(&p["Dimensions"])
                        .iter()
                        .any(|dimension| ref_target(&dimension["Value"]) == Some(function))
            });
            assert!(on_this_function, "no {metric} alarm on {function}");
        }
    }
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

// ------------------------------------------------------------------------------------------------
// Where the stack runs (issue 25): the template's Conditions, evaluated per region.

/// What exists where, from AWS's own pages:
/// - AWS GovCloud (US) User Guide, "AWS Lambda in AWS GovCloud (US)": Lambda function URLs and
///   JSON log formatting are not available in us-gov-west-1 and us-gov-east-1.
/// - Lambda Developer Guide, "Creating and managing Lambda function URLs": function URLs are not
///   supported in ap-south-2, ap-southeast-4, -5, -6, -7, ap-east-2, ca-west-1, eu-south-2,
///   eu-central-2, il-central-1 and me-central-1; mx-central-1's CloudFormation registry (as
///   cfn-lint ships it) has no AWS::Lambda::Url either.
/// - botocore's endpoints.json, service "sts": "fips" variants in us-east-1, us-east-2, us-west-1,
///   us-west-2 and the two GovCloud regions only, and no "dualstack" variant anywhere.
#[derive(Debug)]
struct Region {
    name: &'static str,
    function_urls: bool,
    lambda_json_logs: bool,
    sts_fips: bool,
}

const fn region(name: &'static str, function_urls: bool, lambda_json_logs: bool, sts_fips: bool) -> Region {
    Region {
        name,
        function_urls,
        lambda_json_logs,
        sts_fips,
    }
}

const REGIONS: &[Region] = &[
    region("us-east-1", true, true, true),
    region("us-east-2", true, true, true),
    region("us-west-1", true, true, true),
    region("us-west-2", true, true, true),
    region("eu-west-1", true, true, false),
    region("ca-central-1", true, true, false),
    region("us-gov-west-1", false, false, true),
    region("us-gov-east-1", false, false, true),
    region("ap-south-2", false, true, false),
    region("ap-southeast-4", false, true, false),
    region("ap-southeast-5", false, true, false),
    region("ap-southeast-6", false, true, false),
    region("ap-southeast-7", false, true, false),
    region("ap-east-2", false, true, false),
    region("ca-west-1", false, true, false),
    region("eu-south-2", false, true, false),
    region("eu-central-2", false, true, false),
    region("il-central-1", false, true, false),
    region("me-central-1", false, true, false),
    region("mx-central-1", false, true, false),
];

impl Region {
    /// The resource types of this template that the region does not have.
    fn lacks(&self, kind: &str) -> bool {
        kind == "AWS::Lambda::Url" && !self.function_urls
    }
}

/// What SAM turns its resources into (SAM Developer Guide, "Generated AWS CloudFormation
/// resources for AWS SAM"), as far as this template could ask for them.
fn generated_types(kind: &str, properties: &Value) -> Vec<&'static str> {
    match kind {
        "AWS::Serverless::Function" => {
            let mut kinds = vec!["AWS::Lambda::Function"];
            if properties.get("Role").is_none() {
                kinds.push("AWS::IAM::Role");
            }
            if properties.get("EventInvokeConfig").is_some() {
                kinds.push("AWS::Lambda::EventInvokeConfig");
            }
            if properties.get("FunctionUrlConfig").is_some() {
                kinds.push("AWS::Lambda::Url");
            }
            if properties.get("AutoPublishAlias").is_some() {
                kinds.extend(["AWS::Lambda::Version", "AWS::Lambda::Alias"]);
            }
            kinds
        }
        "AWS::Serverless::HttpApi" => vec!["AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Stage"],
        _ => Vec::new(),
    }
}

/// The template as CloudFormation would see it in one region with some parameter values (the
/// others take their defaults): its Conditions decided, its values rendered.
struct Deployment<'t> {
    template: &'t Value,
    region: &'t str,
    given: Vec<(&'t str, &'t str)>,
    attributes: Vec<(&'t str, &'t str)>,
    /// References to resources this deployment does not create, found while rendering.
    dangling: std::cell::RefCell<Vec<String>>,
}

impl<'t> Deployment<'t> {
    fn new(template: &'t Value, region: &'t str, given: &[(&'t str, &'t str)]) -> Self {
        Deployment {
            template,
            region,
            given: given.to_vec(),
            attributes: Vec::new(),
            dangling: Default::default(),
        }
    }

    fn partition(&self) -> &'static str {
        if self.region.starts_with("us-gov-") {
            "aws-us-gov"
        } else if self.region.starts_with("cn-") {
            "aws-cn"
        } else {
            "aws"
        }
    }

    fn parameter(&self, name: &str) -> Option<String> {
        if let Some((_, value)) = self.given.iter().find(|(given, _)| *given == name) {
            return Some((*value).to_owned());
        }
        let parameter = parameters(self.template)?.get(name)?;
        match parameter.get("Default") {
            Some(Value::String(text)) => Some(text.clone()),
            Some(Value::Number(number)) => Some(number.to_string()),
            Some(Value::Bool(flag)) => Some(flag.to_string()),
            _ => panic!("parameter {name} has no default: give it"),
        }
    }

    fn pseudo(&self, name: &str) -> Option<String> {
        Some(match name {
            "AWS::Region" => self.region.to_owned(),
            "AWS::Partition" => self.partition().to_owned(),
            "AWS::AccountId" => "111122223333".to_owned(),
            "AWS::StackName" => "mdi-sensor-key".to_owned(),
            "AWS::URLSuffix" => "amazonaws.com".to_owned(),
            _ => return None,
        })
    }

    fn resource(&self, id: &str) -> Option<&'t Value> {
        self.template.get("Resources")?.get(id)
    }

    /// A parameter, a pseudo parameter, or a resource's `Ref`/`GetAtt` placeholder.
    fn lookup(&self, name: &str) -> String {
        if let Some(value) = self.pseudo(name).or_else(|| self.parameter(name)) {
            return value;
        }
        let (id, attribute) = name.split_once('.').map_or((name, None), |(id, a)| (id, Some(a)));
        let resource = self
            .resource(id)
            .unwrap_or_else(|| panic!("{name} names no parameter and no resource"));
        if !self.creates(resource) {
            self.dangling.borrow_mut().push(name.to_owned());
        }
        match self.attributes.iter().find(|(known, _)| *known == name) {
            Some((_, value)) => (*value).to_owned(),
            None => match attribute {
                Some(attribute) => format!("<{id}.{attribute}>"),
                None => format!("<{id}>"),
            },
        }
    }

    fn scalar(&self, value: &Value) -> String {
        match value {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            other => match intrinsic(other) {
                Some((name, target)) if name == "Ref" => self.lookup(target.as_str().unwrap_or("")),
                _ => panic!("not a scalar here: {other:?}"),
            },
        }
    }

    /// Whether the named condition holds.
    fn holds(&self, name: &str) -> bool {
        let definition = self
            .template
            .get("Conditions")
            .and_then(|conditions| conditions.get(name))
            .unwrap_or_else(|| panic!("no condition {name}"));
        self.decide(definition)
    }

    /// A condition function: Fn::Equals, Fn::Not, Fn::And, Fn::Or and Condition.
    fn decide(&self, value: &Value) -> bool {
        let (name, args) = intrinsic(value).unwrap_or_else(|| panic!("not a condition function: {value:?}"));
        let args_list = || args.as_sequence().cloned().unwrap_or_default();
        match name.as_str() {
            "Equals" => {
                let pair = args_list();
                assert_eq!(pair.len(), 2, "Fn::Equals takes two values");
                self.scalar(&pair[0]) == self.scalar(&pair[1])
            }
            "Not" => {
                let inner = args_list();
                assert_eq!(inner.len(), 1, "Fn::Not takes one condition");
                !self.decide(&inner[0])
            }
            "And" | "Or" => {
                let inner = args_list();
                assert!((2..=10).contains(&inner.len()), "Fn::{name} takes 2 to 10 conditions");
                let mut outcomes = inner.iter().map(|condition| self.decide(condition));
                if name == "And" {
                    outcomes.all(|outcome| outcome)
                } else {
                    outcomes.any(|outcome| outcome)
                }
            }
            "Condition" => self.holds(args.as_str().unwrap_or("")),
            other => panic!("Fn::{other} is not a condition function"),
        }
    }

    fn creates(&self, resource: &Value) -> bool {
        resource
            .get("Condition")
            .and_then(Value::as_str)
            .is_none_or(|condition| self.holds(condition))
    }

    /// `(logical id, type, properties)` of every resource created here, SAM's globals merged in.
    fn created(&self) -> Vec<(&'t str, &'t str, Value)> {
        let globals = self
            .template
            .get("Globals")
            .and_then(|globals| globals.get("Function"))
            .unwrap_or(&NULL);
        resources(self.template)
            .into_iter()
            .filter(|(_, resource)| self.creates(resource))
            .map(|(id, resource)| {
                let kind = resource_type(resource);
                let p = if kind == "AWS::Serverless::Function" {
                    merged(globals, properties(resource))
                } else {
                    properties(resource).clone()
                };
                (id, kind, p)
            })
            .collect()
    }

    /// `value` with every `!If` decided, `!Ref AWS::NoValue` dropped, and `!Ref`, `!GetAtt`,
    /// `!Sub` and `!Split` computed; `None` where the value is dropped.
    fn render(&self, value: &Value) -> Option<Value> {
        if let Some((name, args)) = intrinsic(value) {
            return match name.as_str() {
                "If" => {
                    let branches = args.as_sequence().expect("Fn::If takes a list");
                    let condition = branches[0].as_str().expect("a condition name");
                    self.render(&branches[if self.holds(condition) { 1 } else { 2 }])
                }
                "Ref" if args.as_str() == Some("AWS::NoValue") => None,
                "Ref" => Some(Value::String(self.lookup(args.as_str().unwrap_or("")))),
                "GetAtt" => {
                    let (id, attribute) = get_att(value).expect("a GetAtt");
                    Some(Value::String(self.lookup(&format!("{id}.{attribute}"))))
                }
                "Sub" => Some(Value::String(
                    self.substitute(args.as_str().expect("Fn::Sub of a string")),
                )),
                "Split" => {
                    let pair = args.as_sequence().expect("Fn::Split takes a list");
                    let separator = pair[0].as_str().expect("a separator");
                    let text = self.render(&pair[1]).and_then(|text| text.as_str().map(str::to_owned));
                    let text = text.expect("Fn::Split of a string");
                    Some(Value::Sequence(
                        text.split(separator)
                            .map(|part| Value::String(part.to_owned()))
                            .collect(),
                    ))
                }
                // The rule conditions' own functions and anything else stay as written.
                _ => Some(value.clone()),
            };
        }
        match value {
            Value::Mapping(map) => Some(Value::Mapping(
                map.iter()
                    .filter_map(|(key, inner)| Some((key.clone(), self.render(inner)?)))
                    .collect(),
            )),
            Value::Sequence(values) => Some(Value::Sequence(
                values.iter().filter_map(|inner| self.render(inner)).collect(),
            )),
            other => Some(other.clone()),
        }
    }

    fn substitute(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = start + rest[start..].find('}').expect("a terminated ${");
            let name = &rest[start + 2..end];
            match name.strip_prefix('!') {
                Some(literal) => out.push_str(&format!("${{{literal}}}")),
                None => out.push_str(&self.lookup(name)),
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

#[test]
fn the_conditions_know_what_each_region_lacks_as_the_table_does() {
    let template = template();
    for region in REGIONS {
        let here = Deployment::new(&template, region.name, &[]);
        assert_eq!(here.holds("RegionHasFunctionUrls"), region.function_urls, "{region:?}");
        assert_eq!(
            here.holds("LambdaFormatsLogsAsJson"),
            region.lambda_json_logs,
            "{region:?}"
        );
        assert_eq!(here.holds("StsHasFipsEndpoints"), region.sts_fips, "{region:?}");
    }
}

/// The HTTPS doors a deployment creates: "function-url" and/or "http-api".
fn doors_created(here: &Deployment) -> Vec<&'static str> {
    let mut doors = Vec::new();
    for (_, kind, p) in here.created() {
        let url = kind == "AWS::Lambda::Url" || generated_types(kind, &p).contains(&"AWS::Lambda::Url");
        if url {
            doors.push("function-url");
        }
        if kind == "AWS::Serverless::HttpApi" || kind == "AWS::ApiGatewayV2::Api" {
            doors.push("http-api");
        }
    }
    doors.sort_unstable();
    doors
}

#[test]
fn every_resource_created_in_a_region_exists_there_and_the_default_parameters_give_exactly_one_door() {
    let template = template();
    for region in REGIONS {
        for http_entry in [None, Some("function-url"), Some("http-api"), Some("both")] {
            let given: Vec<(&str, &str)> = http_entry.map(|entry| ("HttpEntry", entry)).into_iter().collect();
            let here = Deployment::new(&template, region.name, &given);
            for (id, kind, p) in here.created() {
                let mut kinds = generated_types(kind, &p);
                kinds.push(kind);
                for kind in kinds {
                    assert!(
                        !region.lacks(kind),
                        "{}: {id} creates a {kind}, which the region does not have ({http_entry:?})",
                        region.name
                    );
                }
            }
            let expected: &[&str] = match (http_entry.unwrap_or("function-url"), region.function_urls) {
                (_, false) | ("http-api", true) => &["http-api"],
                ("both", true) => &["function-url", "http-api"],
                _ => &["function-url"],
            };
            assert_eq!(
                doors_created(&here),
                expected,
                "{} with HttpEntry {http_entry:?}",
                region.name
            );
        }
    }
    // The three regions scripts/check-template lints, and the one documented choice for a region
    // the template does not know to lack function URLs.
    for name in ["us-east-1", "us-gov-west-1", "us-gov-east-1", "ap-south-2"] {
        let here = Deployment::new(&template, name, &[]);
        assert_eq!(doors_created(&here).len(), 1, "{name}");
    }
    let unknown = Deployment::new(&template, "xx-newregion-1", &[("HttpEntry", "http-api")]);
    assert_eq!(doors_created(&unknown), ["http-api"]);
    assert!(
        unknown.created().iter().all(|(_, kind, _)| *kind != "AWS::Lambda::Url"),
        "the documented choice creates no function URL anywhere"
    );
}

#[test]
fn the_logs_are_json_lines_in_every_region_written_by_lambda_or_by_the_function() {
    let template = template();
    for region in REGIONS {
        let here = Deployment::new(&template, region.name, &[("LogLevel", "DEBUG")]);
        for (id, kind, p) in here.created() {
            if kind != "AWS::Serverless::Function" {
                continue;
            }
            let logging = here.render(&p["LoggingConfig"]).expect("LoggingConfig");
            let variables = here.render(&p["Environment"]["Variables"]).expect("variables");
            assert!(
                logging.get("LogGroup").is_some(),
                "{}: {id} logs to the stack's group",
                region.name
            );
            if region.lambda_json_logs {
                assert_eq!(logging["LogFormat"].as_str(), Some("JSON"), "{}: {id}", region.name);
                assert_eq!(logging["ApplicationLogLevel"].as_str(), Some("DEBUG"));
                assert!(variables.get("LOG_FORMAT").is_none() && variables.get("LOG_LEVEL").is_none());
            } else {
                for setting in ["LogFormat", "ApplicationLogLevel", "SystemLogLevel"] {
                    assert!(
                        logging.get(setting).is_none(),
                        "{}: {id} sets {setting}, which needs Lambda's JSON format",
                        region.name
                    );
                }
                assert_eq!(variables["LOG_FORMAT"].as_str(), Some("JSON"), "{}: {id}", region.name);
                assert_eq!(variables["LOG_LEVEL"].as_str(), Some("DEBUG"), "{}: {id}", region.name);
            }
        }
    }
}

#[test]
fn sts_is_sent_to_fips_only_where_sts_has_fips_endpoints_and_never_to_dual_stack() {
    let template = template();
    for region in REGIONS {
        for fips in ["true", "false"] {
            for dual_stack in ["true", "false"] {
                let here = Deployment::new(
                    &template,
                    region.name,
                    &[("UseFipsEndpoint", fips), ("UseDualStackEndpoint", dual_stack)],
                );
                let (_, function) = the_function(&template);
                let variables = here.render(&function["Environment"]["Variables"]).unwrap();
                let sts_fips = fips == "true" && region.sts_fips;
                let label = format!("{} fips={fips} dual-stack={dual_stack}", region.name);
                assert_eq!(
                    variables["STS_USE_FIPS_ENDPOINT"].as_str(),
                    Some(if sts_fips { "true" } else { "false" }),
                    "{label}"
                );
                assert_eq!(
                    variables["STS_USE_DUALSTACK_ENDPOINT"].as_str(),
                    Some("false"),
                    "{label}"
                );
                // Secrets Manager keeps the switches as given.
                assert_eq!(variables["AWS_USE_FIPS_ENDPOINT"].as_str(), Some(fips), "{label}");
                assert_eq!(
                    variables["AWS_USE_DUALSTACK_ENDPOINT"].as_str(),
                    Some(dual_stack),
                    "{label}"
                );
            }
        }
    }
}

#[test]
fn the_outputs_and_the_caller_policies_follow_the_door_in_use() {
    let template = template();
    for region in REGIONS {
        for http_entry in ["function-url", "http-api", "both"] {
            let here = Deployment::new(&template, region.name, &[("HttpEntry", http_entry)]);
            let label = format!("{} HttpEntry={http_entry}", region.name);
            let doors = doors_created(&here);
            let url = doors.contains(&"function-url");
            let api = doors.contains(&"http-api");
            let outputs = template["Outputs"].as_mapping().unwrap();
            let mut shown = Vec::new();
            for (name, output) in outputs {
                let name = name.as_str().unwrap();
                if output
                    .get("Condition")
                    .and_then(Value::as_str)
                    .is_some_and(|c| !here.holds(c))
                {
                    continue;
                }
                shown.push(name);
                let value = here.render(&output["Value"]).unwrap();
                match name {
                    "CallerUrl" => assert_eq!(
                        value.as_str(),
                        Some(if url {
                            "<SensorKeyFunctionUrl.FunctionUrl>"
                        } else {
                            "https://<HttpApi>.execute-api.REGION.amazonaws.com/"
                        })
                        .map(|text| text.replace("REGION", region.name))
                        .as_deref(),
                        "{label}"
                    ),
                    "CallerSigningService" => {
                        assert_eq!(
                            value.as_str(),
                            Some(if url { "lambda" } else { "execute-api" }),
                            "{label}"
                        )
                    }
                    _ => {}
                }
            }
            assert_eq!(shown.contains(&"FunctionUrl"), url, "{label}");
            assert_eq!(shown.contains(&"HttpApiUrl"), api, "{label}");
            for policy in ["KeyReaderPolicy", "KeyRotatorPolicy", "SensorActivatorPolicy"] {
                let (_, resource) = resources(&template).into_iter().find(|(id, _)| *id == policy).unwrap();
                let document = here.render(&properties(resource)["PolicyDocument"]).unwrap();
                let statements = document["Statement"].as_sequence().unwrap();
                assert!(!statements.is_empty(), "{label}: {policy} grants something");
                let grants = |action: &str| statements.iter().any(|s| s["Action"].as_str() == Some(action));
                assert_eq!(grants("lambda:InvokeFunctionUrl"), url, "{label}: {policy}");
                assert_eq!(grants("lambda:InvokeFunction"), url, "{label}: {policy}");
                assert_eq!(grants("execute-api:Invoke"), api, "{label}: {policy}");
            }
            assert!(
                here.dangling.borrow().is_empty(),
                "{label}: outputs or policies name resources not created: {:?}",
                here.dangling.borrow()
            );
        }
    }
}

#[test]
fn the_template_names_no_partition_literally() {
    let template = template();
    for section in ["Globals", "Conditions", "Resources", "Outputs", "Mappings"] {
        for text in strings(template.get(section).unwrap_or(&NULL)) {
            for literal in ["arn:aws:", "arn:aws-", "amazonaws.com.cn"] {
                assert!(
                    !text.contains(literal),
                    "{section}: {text:?} names a partition; use ${{AWS::Partition}}"
                );
            }
            assert!(
                !["aws", "aws-us-gov", "aws-cn"].contains(&text),
                "{section}: the partition {text:?} by name"
            );
        }
    }
}

// ------------------------------------------------------------------------------------------------
// The allow-lists' AllowedPattern (issue 21 §3): CloudFormation refuses a malformed list.

fn allowed_pattern(template: &Value, parameter: &str) -> regex_lite::Regex {
    let pattern = parameters(template).unwrap()[parameter]["AllowedPattern"]
        .as_str()
        .unwrap_or_else(|| panic!("{parameter} has an AllowedPattern"));
    // CloudFormation matches the whole value (a Java pattern); these use nothing regex-lite reads
    // differently, and anchor themselves.
    assert!(pattern.starts_with('^') && pattern.ends_with('$'), "{parameter}");
    regex_lite::Regex::new(pattern).unwrap_or_else(|error| panic!("{parameter}: {error}"))
}

#[test]
fn the_three_caller_lists_refuse_every_malformed_list_that_issue_21_names() {
    let template = template();
    let pattern = allowed_pattern(&template, "KeyReaders");
    for other in ["KeyRotators", "SensorActivators"] {
        assert_eq!(
            allowed_pattern(&template, other).as_str(),
            pattern.as_str(),
            "{other}: the same grammar"
        );
    }
    let good = [
        "",
        "arn:aws:iam::123456789012:role/sensor-installer",
        "arn:aws:iam::123456789012:user/ops-*",
        "arn:aws:iam::123456789012:role/ops-*",
        "arn:aws:iam::123456789012:role/*",
        "arn:aws:iam::123456789012:role/team/ci-*",
        "arn:aws:iam::123456789012:root",
        "arn:aws:sts::123456789012:assumed-role/ci-deployer/*",
        "arn:aws:sts::123456789012:assumed-role/ci-deployer/build-42",
        "arn:aws:sts::123456789012:federated-user/bob",
        "arn:aws-us-gov:iam::123456789012:role/sensor-installer",
        "arn:aws:iam::123456789012:role/a,arn:aws:iam::210987654321:user/b",
    ];
    for list in good {
        assert!(pattern.is_match(list), "refused a good list: {list:?}");
    }
    let bad = [
        // admits every principal
        "*",
        "arn:*",
        "arn:aws:*",
        "arn:aws:iam::123456789012:*",
        // crosses an account id
        "arn:aws:iam::12345678901*",
        "arn:aws:iam::12345678901*:role/x",
        "arn:aws:iam::*:role/x",
        // two ARNs joined by a space (or anything but a bare comma)
        "arn:aws:iam::123456789012:role/a arn:aws:iam::123456789012:role/b",
        "arn:aws:iam::123456789012:role/a, arn:aws:iam::123456789012:role/b",
        "arn:aws:iam::123456789012:role/a;arn:aws:iam::123456789012:role/b",
        "arn:aws:iam::123456789012:role/a,",
        ",arn:aws:iam::123456789012:role/a",
        // not a principal, or a wildcard outside a name
        "arn:aws:lambda:us-east-1:123456789012:function:x",
        "arn:aws:iam:us-east-1:123456789012:role/x",
        "arn:aws:iam::123456789012:group/admins",
        "arn:aws:iam::123456789012:r*/x",
        "arn:aws:sts::123456789012:assumed-role/x",
        "arn:*:iam::123456789012:role/x",
        "arn:aws:iam::123456789012:role/",
        "arn:aws:iam::123456789012:role/a?b",
    ];
    for list in bad {
        assert!(!pattern.is_match(list), "accepted a malformed list: {list:?}");
    }
}

/// One entry of a caller list, and whether it is well formed: the table both the template's
/// `AllowedPattern` and the function's parser (`access::AllowList`) are held to.
const ALLOW_LIST_ENTRIES: &[(&str, bool)] = &[
    ("arn:aws:iam::123456789012:role/sensor-installer", true),
    ("arn:aws:iam::123456789012:role/Sensor-Installer", true),
    ("arn:aws:iam::123456789012:user/ops-*", true),
    ("arn:aws:iam::123456789012:role/ops-*", true),
    ("arn:aws:iam::123456789012:role/*", true),
    ("arn:aws:iam::123456789012:role/team/ci-*", true),
    ("arn:aws:iam::123456789012:user/a+b=c.d@e_f-g", true),
    ("arn:aws:iam::123456789012:root", true),
    ("arn:aws:sts::123456789012:assumed-role/ci-deployer/*", true),
    ("arn:aws:sts::123456789012:assumed-role/ci-deployer/build-42", true),
    ("arn:aws:sts::123456789012:federated-user/bob", true),
    ("arn:aws-us-gov:iam::123456789012:role/sensor-installer", true),
    ("arn:aws-iso-b:sts::123456789012:assumed-role/r/s", true),
    // admits every principal
    ("*", false),
    ("arn:*", false),
    ("arn:aws:*", false),
    ("arn:aws:iam::123456789012:*", false),
    // crosses an account id
    ("arn:aws:iam::12345678901*", false),
    ("arn:aws:iam::12345678901*:role/x", false),
    ("arn:aws:iam::*:role/x", false),
    ("arn:aws:iam::1234567890123:role/x", false),
    // two ARNs joined by anything but a comma are one malformed entry
    (
        "arn:aws:iam::123456789012:role/a arn:aws:iam::123456789012:role/b",
        false,
    ),
    (
        "arn:aws:iam::123456789012:role/a;arn:aws:iam::123456789012:role/b",
        false,
    ),
    // not a principal, or a wildcard outside a name
    ("arn:aws:lambda:us-east-1:123456789012:function:x", false),
    ("arn:aws:iam:us-east-1:123456789012:role/x", false),
    ("arn:aws:iam::123456789012:group/admins", false),
    ("arn:aws:iam::123456789012:r*/x", false),
    ("arn:aws:sts::123456789012:assumed-role/x", false),
    ("arn:aws:sts::123456789012:assumed-role/x/y/z", false),
    ("arn:aws:sts::123456789012:federated-user/a/b", false),
    ("arn:*:iam::123456789012:role/x", false),
    ("arn:aws:iam::123456789012:role/", false),
    ("arn:aws:iam::123456789012:role//x", false),
    ("arn:aws:iam::123456789012:role/a?b", false),
    ("arn:aws:iam::123456789012:role/a:b", false),
];

#[test]
fn the_template_pattern_and_the_function_parser_agree_on_every_allow_list_entry() {
    let pattern = allowed_pattern(&template(), "KeyReaders");
    for (entry, good) in ALLOW_LIST_ENTRIES {
        assert_eq!(pattern.is_match(entry), *good, "the template on {entry:?}");
        let parsed = mdi_sensor_key::access::AllowList::parse(entry);
        match good {
            true => assert!(
                parsed.dropped().is_empty() && parsed.len() == 1,
                "the function dropped {entry:?}"
            ),
            false => assert_eq!(parsed.dropped(), &[1], "the function kept {entry:?}"),
        }
    }
}

#[test]
fn key_secret_readers_take_a_star_only_as_a_whole_last_path_segment() {
    let pattern = allowed_pattern(&template(), "KeySecretReaders");
    for list in [
        "",
        "arn:aws:iam::123456789012:role/installer",
        "arn:aws:iam::123456789012:role/installers/*",
        "arn:aws:iam::123456789012:role/*",
        "arn:aws:iam::123456789012:user/auditor,arn:aws-us-gov:iam::123456789012:role/x/y",
    ] {
        assert!(pattern.is_match(list), "refused {list:?}");
    }
    for list in [
        // inside a name, ArnLike's * would also match across a /
        "arn:aws:iam::123456789012:role/ops-*",
        "arn:aws:iam::123456789012:role/*/x",
        "arn:aws:iam::123456789012:role/a?",
        "*",
        "arn:aws:iam::*:role/x",
        "arn:aws:iam::123456789012:root",
        "arn:aws:sts::123456789012:assumed-role/x/y",
        "arn:aws:iam::123456789012:role/a arn:aws:iam::123456789012:role/b",
    ] {
        assert!(!pattern.is_match(list), "accepted {list:?}");
    }
}

#[test]
fn break_glass_principals_are_exact_role_user_or_root_arns() {
    let template = template();
    let pattern = allowed_pattern(&template, "BreakGlassPrincipals");
    assert_eq!(parameters(&template).unwrap()["BreakGlassPrincipals"]["Default"], "");
    for list in [
        "",
        "arn:aws:iam::123456789012:role/break-glass",
        "arn:aws:iam::123456789012:role/ops/break-glass,arn:aws:iam::123456789012:root",
        "arn:aws:iam::123456789012:user/alice",
    ] {
        assert!(pattern.is_match(list), "refused {list:?}");
    }
    for list in [
        "*",
        "arn:aws:iam::123456789012:role/*",
        "arn:aws:iam::123456789012:role/break-*",
        "arn:aws:sts::123456789012:assumed-role/break-glass/alice",
        "arn:aws:iam::123456789012:role/a arn:aws:iam::123456789012:role/b",
    ] {
        assert!(!pattern.is_match(list), "accepted {list:?}");
    }
}

// ------------------------------------------------------------------------------------------------
// The key secret's resource policy (issue 21 §2), evaluated as IAM evaluates a Deny.

/// The parts of a request context the key secret's policy looks at.
#[derive(Debug, Clone, Copy)]
struct Request<'a> {
    action: &'a str,
    principal_arn: &'a str,
    /// `aws:CalledViaFirst`: the service a forward access session started at, if any.
    called_via_first: Option<&'a str>,
}

/// IAM's ArnLike (and ArnEquals, which IAM evaluates alike): each of the six colon-separated
/// parts matched on its own, `*` and `?` wildcards within a part.
fn arn_like(pattern: &str, arn: &str) -> bool {
    let pattern: Vec<&str> = pattern.splitn(6, ':').collect();
    let arn: Vec<&str> = arn.splitn(6, ':').collect();
    pattern.len() == 6 && arn.len() == 6 && pattern.iter().zip(&arn).all(|(p, a)| glob_matches(p, a))
}

/// Whether a rendered `Effect: Deny, Principal: "*", Resource: "*"` statement applies.
fn denies(statement: &Value, request: Request) -> bool {
    assert_eq!(statement["Effect"].as_str(), Some("Deny"));
    assert_eq!(statement["Principal"].as_str(), Some("*"));
    assert_eq!(statement["Resource"].as_str(), Some("*"));
    let action = request.action.to_ascii_lowercase();
    if !actions(statement).iter().any(|pattern| glob_matches(pattern, &action)) {
        return false;
    }
    let Some(conditions) = statement.get("Condition").and_then(Value::as_mapping) else {
        return true;
    };
    conditions.iter().all(|(operator, keys)| {
        keys.as_mapping().unwrap().iter().all(|(key, values)| {
            let values: Vec<&str> = strings(values);
            let context = match key.as_str().unwrap() {
                "aws:PrincipalArn" => Some(request.principal_arn),
                "aws:CalledViaFirst" => request.called_via_first,
                other => panic!("the evaluator does not know {other}"),
            };
            // A negated operator on a key the request does not carry holds (IAM User Guide,
            // "Condition operators": the values do not match).
            match operator.as_str().unwrap() {
                "ArnNotLike" | "ArnNotEquals" => context.is_none_or(|c| !values.iter().any(|v| arn_like(v, c))),
                "StringNotEquals" => context.is_none_or(|c| !values.contains(&c)),
                other => panic!("the evaluator does not know {other}"),
            }
        })
    })
}

const FUNCTION_ROLE: &str = "arn:aws:iam::111122223333:role/mdi-sensor-key-FunctionRole-AbC123";

/// The key secret's policy as deployed with these parameters.
fn key_secret_policy(template: &Value, given: &[(&str, &str)]) -> Vec<Value> {
    let mut here = Deployment::new(template, "us-east-1", given);
    here.attributes.push(("FunctionRole.Arn", FUNCTION_ROLE));
    let (_, policy) = resources_of_type(template, "AWS::SecretsManager::ResourcePolicy")[0];
    let rendered = here.render(&properties(policy)["ResourcePolicy"]).unwrap();
    rendered["Statement"].as_sequence().unwrap().clone()
}

fn denied(statements: &[Value], request: Request) -> bool {
    statements.iter().any(|statement| denies(statement, request))
}

const WRITES_ISSUE_21_NAMES: [&str; 8] = [
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
    "secretsmanager:RotateSecret",
    "secretsmanager:CancelRotateSecret",
    "secretsmanager:PutResourcePolicy",
    "secretsmanager:DeleteResourcePolicy",
    "secretsmanager:UpdateSecret",
    "secretsmanager:DeleteSecret",
];

#[test]
fn only_the_function_and_break_glass_change_the_key_secret_and_only_named_readers_read_it() {
    let template = template();
    let policy = key_secret_policy(
        &template,
        &[
            (
                "KeySecretReaders",
                "arn:aws:iam::111122223333:role/installers/*,arn:aws:iam::111122223333:user/auditor",
            ),
            ("BreakGlassPrincipals", "arn:aws:iam::111122223333:role/break-glass"),
        ],
    );
    let admin = "arn:aws:iam::111122223333:role/PowerUser";
    let break_glass = "arn:aws:iam::111122223333:role/break-glass";
    let direct = |action, principal_arn| Request {
        action,
        principal_arn,
        called_via_first: None,
    };
    let read = "secretsmanager:GetSecretValue";
    for writer in WRITES_ISSUE_21_NAMES {
        assert!(
            !denied(&policy, direct(writer, FUNCTION_ROLE)),
            "the function may {writer}"
        );
        assert!(
            !denied(&policy, direct(writer, break_glass)),
            "break-glass may {writer}"
        );
        assert!(
            denied(&policy, direct(writer, admin)),
            "an administrator may not {writer}"
        );
        assert!(
            denied(&policy, direct(writer, "arn:aws:iam::111122223333:role/installers/a")),
            "a reader may not {writer}"
        );
        assert!(
            denied(
                &policy,
                Request {
                    called_via_first: Some("ssm.amazonaws.com"),
                    ..direct(writer, admin)
                }
            ),
            "another service acting for an administrator may not {writer}"
        );
    }
    for action in [
        "secretsmanager:ReplicateSecretToRegions",
        "secretsmanager:StopReplicationToReplica",
    ] {
        assert!(
            denied(&policy, direct(action, admin)),
            "{action} would carry the key away"
        );
    }
    assert!(!denied(&policy, direct(read, FUNCTION_ROLE)));
    assert!(!denied(
        &policy,
        direct(read, "arn:aws:iam::111122223333:role/installers/a")
    ));
    assert!(!denied(&policy, direct(read, "arn:aws:iam::111122223333:user/auditor")));
    assert!(denied(
        &policy,
        direct(read, "arn:aws:iam::111122223333:role/installers-b")
    ));
    assert!(denied(&policy, direct(read, admin)));
    assert!(
        denied(&policy, direct(read, break_glass)),
        "break-glass changes, it does not read"
    );
    // Nothing else is taken away: describing the secret stays an identity policy's decision.
    assert!(!denied(&policy, direct("secretsmanager:DescribeSecret", admin)));
}

/// A stack update replaces the policy, changes the rotation and updates the secret; a stack
/// delete removes the policy and deletes the secret. CloudFormation makes each call with the
/// deployer's credentials, judged by the policy in force at the time (the old one).
#[test]
fn a_stack_update_or_delete_by_whoever_deploys_passes_the_policy_it_replaces() {
    let template = template();
    for given in [
        &[][..],
        &[("BreakGlassPrincipals", "arn:aws:iam::111122223333:role/break-glass")][..],
    ] {
        let policy = key_secret_policy(&template, given);
        for deployer in [
            "arn:aws:iam::111122223333:role/ci-deployer",
            "arn:aws:iam::111122223333:user/admin",
        ] {
            let through_cloudformation = |action| Request {
                action,
                principal_arn: deployer,
                called_via_first: Some("cloudformation.amazonaws.com"),
            };
            for action in [
                "secretsmanager:PutResourcePolicy",
                "secretsmanager:DeleteResourcePolicy",
                "secretsmanager:UpdateSecret",
                "secretsmanager:RotateSecret",
                "secretsmanager:CancelRotateSecret",
                "secretsmanager:DeleteSecret",
            ] {
                assert!(
                    !denied(&policy, through_cloudformation(action)),
                    "{deployer}: {action} ({given:?})"
                );
            }
            // Never a read, and never the key itself, even through CloudFormation.
            assert!(denied(&policy, through_cloudformation("secretsmanager:GetSecretValue")));
            // The same principal outside CloudFormation is an administrator like any other.
            assert!(denied(
                &policy,
                Request {
                    called_via_first: None,
                    ..through_cloudformation("secretsmanager:PutResourcePolicy")
                }
            ));
        }
    }
    // With no reader and no break-glass named, the function's role is the one exception.
    let policy = key_secret_policy(&template, &[]);
    let statements: Vec<String> = policy.iter().map(|s| format!("{:?}", s["Condition"])).collect();
    assert!(statements.iter().all(|s| s.contains(FUNCTION_ROLE)), "{statements:?}");
}
