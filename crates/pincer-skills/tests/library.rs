//! The skill library over real folders: precedence, skipping, pinning,
//! the owner's decisions, and the bundled skills of the repository.

use pincer_skills::{catalog_prompt, Host, Root, SkillLibrary, SkillState, Source};
use std::path::{Path, PathBuf};

fn write_skill(root: &Path, name: &str, description: &str, body: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("SKILL.md"),
        format!("---\nname: {name}\ndescription: {description}\n---\n{body}\n"),
    )
    .unwrap();
    dir
}

struct Fixture {
    _dir: tempfile::TempDir,
    workspace: PathBuf,
    home: PathBuf,
    bundled: PathBuf,
    pins: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = |p: &str| dir.path().join(p);
        let (workspace, home, bundled, pins) =
            (path("workspace"), path("home"), path("bundled"), path("data/skills.json"));
        Self { _dir: dir, workspace, home, bundled, pins }
    }

    fn library(&self) -> SkillLibrary {
        SkillLibrary::new(
            Root::standard(&self.workspace, Some(&self.home), Some(&self.bundled)),
            Some(self.pins.clone()),
            Host::default(),
        )
    }
}

#[test]
fn the_first_of_a_name_wins_and_only_bundled_skills_start_enabled() {
    let f = Fixture::new();
    write_skill(&f.bundled, "notes", "Bundled notes.", "bundled body");
    write_skill(&f.bundled, "briefing", "A briefing.", "brief");
    write_skill(&f.home.join(".agents/skills"), "notes", "The owner's notes.", "user body");
    write_skill(&f.workspace.join("skills"), "reply", "Draft a reply.", "reply body");
    std::fs::create_dir_all(f.workspace.join("skills/broken")).unwrap();
    std::fs::write(f.workspace.join("skills/broken/SKILL.md"), "no frontmatter").unwrap();

    let found = f.library().discover();
    let names: Vec<(&str, Source, &SkillState)> =
        found.skills.iter().map(|s| (s.name(), s.source, &s.state)).collect();
    assert_eq!(
        names,
        [
            ("briefing", Source::Bundled, &SkillState::Enabled),
            ("notes", Source::User, &SkillState::New),
            ("reply", Source::Workspace, &SkillState::New),
        ]
    );
    assert_eq!(found.skills[1].body, "user body");
    let problems: Vec<String> = found
        .skipped
        .iter()
        .map(|s| format!("{} {}", s.path.display(), s.problem))
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("broken/SKILL.md") && p.contains("frontmatter")));
    assert!(problems.iter().any(|p| p.contains("bundled/notes/SKILL.md") && p.contains("shadowed")));

    // Only the bundled one is in the catalog until the owner enables more.
    let usable = f.library().usable();
    let catalog = catalog_prompt(&usable).unwrap();
    assert!(catalog.contains("<name>briefing</name>"));
    assert!(!catalog.contains("reply"));
    let refused = f.library().activate("reply").unwrap_err().to_string();
    assert!(refused.contains("not enabled it yet"), "{refused}");
}

#[test]
fn an_enabled_skill_that_changes_waits_for_the_owner_again() {
    let f = Fixture::new();
    let dir = write_skill(&f.workspace.join("skills"), "reply", "Draft a reply.", "v1");
    let enabled = f.library().enable("reply").unwrap();
    assert_eq!(enabled.state, SkillState::Enabled);
    // A new library (a restart) reads the pin back.
    assert_eq!(f.library().activate("reply").unwrap().body, "v1");

    std::fs::write(dir.join("extra.md"), "more").unwrap();
    let library = f.library();
    let skill = &library.discover().skills[0];
    assert!(matches!(&skill.state, SkillState::Changed { pinned_sha256 } if *pinned_sha256 == enabled.vetting.sha256));
    assert!(library.usable().is_empty());
    assert!(library.activate("reply").unwrap_err().to_string().contains("changed"));

    library.enable("reply").unwrap();
    assert_eq!(library.usable().len(), 1);
    library.disable("reply").unwrap();
    assert!(library.activate("reply").unwrap_err().to_string().contains("turned it off"));
    assert!(library.enable("nope").unwrap_err().to_string().contains("no skill \"nope\""));
}

#[test]
fn one_librarys_scans_follow_changes_on_disk_and_decisions_made_elsewhere() {
    // The running app keeps one library; `pincer skills` is another
    // process with its own.
    let f = Fixture::new();
    let dir = write_skill(&f.workspace.join("skills"), "reply", "Draft a reply.", "v1");
    let app = f.library();
    assert_eq!(app.discover().skills[0].state, SkillState::New);
    assert_eq!(app.discover().skills[0].state, SkillState::New, "asked again, nothing changed");
    f.library().enable("reply").unwrap();
    assert_eq!(app.discover().skills[0].state, SkillState::Enabled, "the CLI's decision is seen");
    assert_eq!(app.activate("reply").unwrap().body, "v1");
    std::fs::write(dir.join("SKILL.md"), "---\nname: reply\ndescription: Draft a reply.\n---\nv2 with a longer body\n").unwrap();
    assert!(matches!(app.discover().skills[0].state, SkillState::Changed { .. }), "the edit is seen");
    std::fs::write(dir.join("notes.md"), "a new file").unwrap();
    assert_eq!(app.discover().skills[0].vetting.files.len(), 2, "a new file is seen");
    std::fs::write(&f.pins, "{ not json").unwrap();
    let damaged = app.discover();
    assert!(damaged.problems.iter().any(|p| p.contains("every skill is off")), "{:?}", damaged.problems);
    assert_eq!(damaged.skills[0].state, SkillState::New);
}

#[test]
fn the_bundled_skills_parse_vet_clean_and_work_here() {
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../skills");
    let library = SkillLibrary::new(
        vec![Root { source: Source::Bundled, dir: bundled }],
        None,
        Host::default(),
    );
    let found = library.discover();
    assert!(found.skipped.is_empty(), "{:?}", found.skipped);
    assert!((3..=5).contains(&found.skills.len()), "{} bundled skills", found.skills.len());
    for skill in &found.skills {
        assert!(skill.vetting.findings.is_empty(), "{}: {:?}", skill.name(), skill.vetting.findings);
        assert!(skill.usable(), "{}: {:?}", skill.name(), skill.eligibility);
        assert!(skill.front.license.is_some(), "{} names its licence", skill.name());
    }
}
