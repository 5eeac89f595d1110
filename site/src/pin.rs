//! `airlock pin`: point Kubernetes manifests and Helm values at the
//! mirror's images, by digest, from the mapping file `airlock load` writes.
//!
//! Files are parsed (YAML 1.2, any number of documents) only to find where
//! image references are; each one is then replaced *in the text*, so
//! comments, key order, quoting style and formatting survive untouched.
//!
//! What is rewritten:
//! - every `image: <reference>` scalar (Pods, Deployments, StatefulSets,
//!   DaemonSets, Jobs, CronJobs and their `containers`, `initContainers`,
//!   `ephemeralContainers`; Helm values' `image: "repo:tag"`): becomes
//!   `MIRROR/REPO[:TAG]@sha256:…`;
//! - Helm values' `image: {registry?, repository, tag?, digest?}` maps:
//!   `registry` (if present) and `repository` name the mirror; `digest`, if
//!   the map has one, is set to the digest (the tag is kept); otherwise the
//!   tag becomes `TAG@sha256:…`, which charts that render
//!   `{{ repository }}:{{ tag }}` turn into a digest-pinned reference.
//!
//! A reference the mapping does not know, one that does not parse, or one
//! in a form that cannot be rewritten in place (a block scalar, an alias)
//! is reported, never silently left: [`PinResult::unknown`].

use crate::{Error, Result};
use oci::ImageRef;
use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// One line of a mapping file: where an image came from and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    source: ImageRef,
    target: ImageRef,
}

/// The mapping `airlock load --mapping` writes: `SOURCE_REF TARGET_REF@sha256:…` per line.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    entries: Vec<Entry>,
}

impl Mapping {
    /// Parse a mapping file. Blank lines and `#` comments are allowed; every
    /// target must be pinned by digest.
    pub fn parse(text: &str) -> Result<Self> {
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |reason: String| Error::Invalid(format!("mapping line {}: {reason}", n + 1));
            let mut fields = line.split_whitespace();
            let (Some(source), Some(target), None) = (fields.next(), fields.next(), fields.next()) else {
                return Err(bad("expected SOURCE_REF TARGET_REF@sha256:…".into()));
            };
            let source: ImageRef = source.parse().map_err(|e| bad(format!("{e}")))?;
            let target: ImageRef = target.parse().map_err(|e| bad(format!("{e}")))?;
            if target.digest().is_none() {
                return Err(bad(format!("target {target} is not pinned by digest")));
            }
            if source.digest().is_some_and(|d| Some(d) != target.digest()) {
                return Err(bad(format!("{source} and {target} name different digests")));
            }
            entries.push(Entry { source, target });
        }
        Ok(Self { entries })
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// What `found` becomes: `Ok(Some(target))` to rewrite, `Ok(None)` when
    /// it already names a mirrored image by its digest, `Err(reason)` when
    /// unknown.
    fn lookup(&self, found: &ImageRef) -> std::result::Result<Option<&ImageRef>, String> {
        if self.entries.iter().any(|e| e.target.name() == found.name() && found.digest() == e.target.digest()) {
            return Ok(None);
        }
        let same_repo = self.entries.iter().filter(|e| e.source.name() == found.name());
        let hit = match (found.digest(), found.tag()) {
            // By digest: the digest decides (a tag beside it is for people).
            (Some(digest), _) => same_repo.into_iter().find(|e| e.target.digest() == Some(digest)),
            (None, tag) => {
                let tag = tag.map_or("latest", |t| t.as_str());
                same_repo.into_iter().find(|e| e.source.tag().is_some_and(|t| t.as_str() == tag))
            }
        };
        hit.map(|e| Some(&e.target)).ok_or_else(|| "not in the mapping".to_string())
    }
}

/// One rewrite.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rewrite {
    /// 1-based line of the value.
    pub line: usize,
    /// What was there.
    pub from: String,
    /// What is there now.
    pub to: String,
}

/// A reference left as it was, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unknown {
    /// 1-based line.
    pub line: usize,
    /// The reference as written.
    pub reference: String,
    /// Why it was not rewritten.
    pub reason: String,
}

/// The result of pinning one text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PinResult {
    /// The rewritten text.
    #[serde(skip)]
    pub text: String,
    /// What was rewritten.
    pub rewrites: Vec<Rewrite>,
    /// References already pinned to the mirror.
    pub already_pinned: usize,
    /// References not rewritten.
    pub unknown: Vec<Unknown>,
}

/// A YAML node with where its scalars are.
#[derive(Debug)]
pub(crate) enum Node {
    Scalar { value: String, span: Span, style: ScalarStyle },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
    Alias(Span),
}

impl Node {
    pub(crate) fn scalar(&self) -> Option<&str> {
        match self {
            Node::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k.scalar() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Parse every document of `text` into nodes.
pub(crate) fn parse(text: &str) -> Result<Vec<Node>> {
    let mut parser = Parser::new_from_str(text);
    let mut documents = Vec::new();
    // Open collections: a sequence, or a map with its pending key.
    enum Open {
        Seq(Vec<Node>),
        Map(Vec<(Node, Node)>, Option<Node>),
    }
    // The parser refuses nesting beyond its recursion limit, so this stack
    // stays bounded too.
    let mut stack: Vec<Open> = Vec::new();
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| Error::Invalid(format!("line {}: {}", e.marker().line(), e.info())))?;
        let node = match event {
            Event::SequenceStart(..) => {
                stack.push(Open::Seq(Vec::new()));
                continue;
            }
            Event::MappingStart(..) => {
                stack.push(Open::Map(Vec::new(), None));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Open::Seq(items)) => Node::Seq(items),
                Some(Open::Map(entries, _)) => Node::Map(entries),
                None => return Err(Error::Invalid("unbalanced YAML events".into())),
            },
            Event::Scalar(value, style, _, _) => Node::Scalar { value: value.into_owned(), span, style },
            Event::Alias(_) => Node::Alias(span),
            _ => continue,
        };
        match stack.last_mut() {
            None => documents.push(node),
            Some(Open::Seq(items)) => items.push(node),
            Some(Open::Map(entries, pending)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => entries.push((key, node)),
            },
        }
    }
    Ok(documents)
}

/// An edit: replace chars `start..end` with `text`.
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

struct Pinner<'m> {
    mapping: &'m Mapping,
    edits: Vec<Edit>,
    result: PinResult,
}

impl Pinner<'_> {
    fn walk(&mut self, node: &Node) {
        match node {
            Node::Map(entries) => {
                for (key, value) in entries {
                    if key.scalar() == Some("image") {
                        self.image(value);
                    }
                    self.walk(value);
                }
            }
            Node::Seq(items) => items.iter().for_each(|n| self.walk(n)),
            Node::Scalar { .. } | Node::Alias(_) => {}
        }
    }

    fn unknown(&mut self, span: &Span, reference: &str, reason: impl Into<String>) {
        self.result.unknown.push(Unknown { line: span.start.line(), reference: reference.to_string(), reason: reason.into() });
    }

    fn image(&mut self, value: &Node) {
        match value {
            Node::Scalar { value, span, .. } if value.is_empty() => self.unknown(span, value, "empty image reference"),
            Node::Scalar { value, span, style: ScalarStyle::Literal | ScalarStyle::Folded } => {
                self.unknown(span, value.trim_end(), "a block scalar cannot be rewritten in place")
            }
            Node::Scalar { value: text, span, style } => match text.parse::<ImageRef>() {
                Err(e) => self.unknown(span, text, e.to_string()),
                Ok(found) => match self.mapping.lookup(&found) {
                    Err(reason) => self.unknown(span, text, reason),
                    Ok(None) => self.result.already_pinned += 1,
                    Ok(Some(target)) => {
                        let to = target.to_string();
                        self.replace(span, *style, text, &to);
                    }
                },
            },
            Node::Map(_) => self.helm(value),
            Node::Alias(span) => self.unknown(span, "*alias", "an alias cannot be rewritten in place"),
            Node::Seq(_) => {}
        }
    }

    /// Helm's `image: {registry, repository, tag, digest}`.
    fn helm(&mut self, map: &Node) {
        let Some(Node::Scalar { value: repository, span: repo_span, style: repo_style }) = map.get("repository") else {
            return;
        };
        let field = |key: &str| match map.get(key) {
            Some(Node::Scalar { value, span, style }) => Some((value.as_str(), span, *style)),
            _ => None,
        };
        let registry = field("registry").filter(|(v, _, _)| !v.is_empty());
        let tag = field("tag");
        let digest = field("digest");
        if tag.is_none_or(|(t, _, _)| t.is_empty()) && digest.is_none() {
            return self.unknown(repo_span, repository, "the image map has no tag or digest field to pin");
        }
        let mut written = match registry {
            Some((r, _, _)) => format!("{r}/{repository}"),
            None => repository.clone(),
        };
        if let Some((t, _, _)) = tag.filter(|(t, _, _)| !t.is_empty()) {
            written = format!("{written}:{t}");
        }
        if let Some((d, _, _)) = digest.filter(|(d, _, _)| !d.is_empty()) {
            written = format!("{written}@{d}");
        }
        let found = match written.parse::<ImageRef>() {
            Ok(found) => found,
            Err(e) => return self.unknown(repo_span, &written, e.to_string()),
        };
        let target = match self.mapping.lookup(&found) {
            Err(reason) => return self.unknown(repo_span, &written, reason),
            Ok(None) => {
                self.result.already_pinned += 1;
                return;
            }
            Ok(Some(target)) => target.clone(),
        };
        let digest_text = target.digest().map(ToString::to_string).unwrap_or_default();
        let pin = match (digest, tag) {
            (Some((d, span, style)), _) => (span, style, d.to_string(), digest_text),
            (None, Some((t, span, style))) if !t.is_empty() => (span, style, t.to_string(), format!("{t}@{digest_text}")),
            _ => return self.unknown(repo_span, &written, "the image map has no tag or digest field to pin"),
        };
        match registry {
            Some((r, span, style)) => {
                self.replace(span, style, r, target.registry());
                self.replace(repo_span, *repo_style, repository, target.repository());
            }
            None => self.replace(repo_span, *repo_style, repository, &target.name()),
        }
        self.replace(pin.0, pin.1, &pin.2, &pin.3);
    }

    fn replace(&mut self, span: &Span, style: ScalarStyle, from: &str, to: &str) {
        let text = match style {
            ScalarStyle::Plain => to.to_string(),
            ScalarStyle::SingleQuoted => format!("'{to}'"),
            ScalarStyle::DoubleQuoted => format!("\"{to}\""),
            _ => return self.unknown(span, from, "a block scalar cannot be rewritten in place"),
        };
        if from == to {
            return;
        }
        self.edits.push(Edit { start: span.start.index(), end: span.end.index(), text });
        self.result.rewrites.push(Rewrite { line: span.start.line(), from: from.to_string(), to: to.to_string() });
    }
}

/// Pin the image references of one YAML text.
pub fn pin_text(text: &str, mapping: &Mapping) -> Result<PinResult> {
    let documents = parse(text)?;
    let mut pinner = Pinner {
        mapping,
        edits: Vec::new(),
        result: PinResult { text: String::new(), rewrites: Vec::new(), already_pinned: 0, unknown: Vec::new() },
    };
    for document in &documents {
        pinner.walk(document);
    }
    // Spans count characters; edit from the end so earlier offsets hold.
    let byte_at: Vec<usize> = text.char_indices().map(|(i, _)| i).chain(std::iter::once(text.len())).collect();
    let mut edits = pinner.edits;
    edits.sort_by_key(|e| std::cmp::Reverse(e.start));
    let mut out = text.to_string();
    for edit in edits {
        let (start, end) = (byte_at[edit.start], byte_at[edit.end]);
        out.replace_range(start..end, &edit.text);
    }
    pinner.result.rewrites.sort_by_key(|r| r.line);
    pinner.result.unknown.sort_by_key(|u| u.line);
    pinner.result.text = out;
    Ok(pinner.result)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn mapping() -> Mapping {
        Mapping::parse(&format!(
            "# written by airlock load\n\
             ghcr.io/org/app:v1 reg.site:5000/mirror/ghcr.io/org/app:v1@{D1}\n\
             docker.io/library/nginx:1.25 reg.site:5000/mirror/docker.io/library/nginx:1.25@{D2}\n"
        ))
        .unwrap()
    }

    #[test]
    fn rewrites_kubernetes_workloads_and_keeps_comments() {
        let text = "# a deployment\napiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      initContainers:\n      - name: init\n        image: nginx:1.25   # the proxy\n      containers:\n      - name: app\n        image: \"ghcr.io/org/app:v1\"\n---\n# a cronjob\nkind: CronJob\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          ephemeralContainers:\n          - image: 'ghcr.io/org/app:v1'\n          containers:\n          - image: quay.io/unknown/thing:3\n";
        let r = pin_text(text, &mapping()).unwrap();
        assert_eq!(r.rewrites.len(), 3, "{r:?}");
        assert!(r.text.contains(&format!("        image: reg.site:5000/mirror/docker.io/library/nginx:1.25@{D2}   # the proxy\n")), "{}", r.text);
        assert!(r.text.contains(&format!("image: \"reg.site:5000/mirror/ghcr.io/org/app:v1@{D1}\"")));
        assert!(r.text.contains(&format!("- image: 'reg.site:5000/mirror/ghcr.io/org/app:v1@{D1}'")));
        assert!(r.text.starts_with("# a deployment\n") && r.text.contains("---\n# a cronjob\n"));
        assert_eq!(r.unknown, vec![Unknown { line: 24, reference: "quay.io/unknown/thing:3".into(), reason: "not in the mapping".into() }]);
        // Pinning again changes nothing and knows what it pinned.
        let again = pin_text(&r.text, &mapping()).unwrap();
        assert_eq!(again.text, r.text);
        assert_eq!((again.rewrites.len(), again.already_pinned, again.unknown.len()), (0, 3, 1));
    }

    #[test]
    fn rewrites_helm_values_shapes() {
        let text = format!("app:\n  image:\n    repository: ghcr.io/org/app\n    tag: v1\n    pullPolicy: IfNotPresent\nproxy:\n  image:\n    registry: docker.io\n    repository: library/nginx\n    tag: \"1.25\"\n    digest: \"\"\nsidecar:\n  image: ghcr.io/org/app@{D1}\n");
        let r = pin_text(&text, &mapping()).unwrap();
        assert!(r.unknown.is_empty(), "{r:?}");
        assert!(r.text.contains(&format!("    repository: reg.site:5000/mirror/ghcr.io/org/app\n    tag: v1@{D1}\n")), "{}", r.text);
        assert!(r.text.contains(&format!("    registry: reg.site:5000\n    repository: mirror/docker.io/library/nginx\n    tag: \"1.25\"\n    digest: \"{D2}\"\n")), "{}", r.text);
        assert!(r.text.contains(&format!("  image: reg.site:5000/mirror/ghcr.io/org/app:v1@{D1}\n")), "{}", r.text);
        assert!(r.text.contains("pullPolicy: IfNotPresent"));
    }

    #[test]
    fn reports_what_it_cannot_rewrite() {
        let text = "a:\n  image: ghcr.io/org/app:v2\nb:\n  image: \"not a ref!\"\nc:\n  image: |\n    ghcr.io/org/app:v1\nd:\n  image: {repository: ghcr.io/org/app}\ne:\n  image: nginx\n";
        let r = pin_text(text, &mapping()).unwrap();
        assert!(r.rewrites.is_empty(), "{r:?}");
        let reasons: Vec<&str> = r.unknown.iter().map(|u| u.reason.as_str()).collect();
        assert_eq!(r.unknown.len(), 5, "{reasons:?}");
        assert_eq!(reasons[0], "not in the mapping");
        assert!(reasons[1].contains("invalid image reference"));
        assert!(reasons[2].contains("block scalar"));
        assert!(reasons[3].contains("no tag or digest"));
        assert_eq!(r.unknown[4].reference, "nginx", "nginx means nginx:latest, which is not mapped");
        assert_eq!(r.text, text);
    }

    #[test]
    fn refuses_bad_yaml_and_bad_mappings() {
        assert!(pin_text("a: [unclosed", &mapping()).is_err());
        let deep = "[".repeat(300) + &"]".repeat(300);
        let e = pin_text(&deep, &mapping()).unwrap_err().to_string();
        assert!(e.contains("recursion limit"), "{e}");
        assert!(Mapping::parse("only-one-field").is_err());
        assert!(Mapping::parse("a:v1 b:v1").unwrap_err().to_string().contains("not pinned by digest"));
        assert!(Mapping::parse(&format!("a@{D1} b@{D2}")).unwrap_err().to_string().contains("different digests"));
        assert!(Mapping::parse(&format!("a:v1 b@{D1} extra")).is_err());
    }

    #[test]
    fn multibyte_text_before_a_reference_keeps_offsets_right() {
        let text = "# café ☕\nimage: nginx:1.25 # après\n";
        let r = pin_text(text, &mapping()).unwrap();
        assert_eq!(r.text, format!("# café ☕\nimage: reg.site:5000/mirror/docker.io/library/nginx:1.25@{D2} # après\n"));
    }
}
