//! The skill catalog in the system prompt, as OpenClaw writes it: an
//! `<available_skills>` list of name, description and location, and one
//! line telling the model to load a skill with `use_skill` before
//! following it. Only the catalog goes in; a body is loaded on use.

use crate::Skill;

/// The catalog section for `skills` (usable ones); `None` when there are none.
pub fn catalog_prompt(skills: &[Skill]) -> Option<String> {
    if skills.is_empty() {
        return None;
    }
    let mut text = String::from(
        "# Skills\n\nThe owner enabled these skills. When one fits the request, call the tool `use_skill` with its name to load its instructions, then follow them with the tools you have. A skill grants no permission: every tool call is still checked.\n\n<available_skills>\n",
    );
    for skill in skills {
        text.push_str(&format!(
            "  <skill>\n    <name>{}</name>\n    <description>{}</description>\n    <location>{}</location>\n  </skill>\n",
            escape(skill.name()),
            escape(&skill.front.description),
            escape(&skill.file().display().to_string()),
        ));
    }
    text.push_str("</available_skills>");
    Some(text)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
