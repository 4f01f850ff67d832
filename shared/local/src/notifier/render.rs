//! What a person reads: an approval-needed message (CodePipeline's approval JSON in the body) as mail text,
//! mail HTML and a Slack message, and any other message as its subject and body. Pure.

use serde::Deserialize;
use serde_json::{Value, json};

use sluice_core::html::escape;

/// The approval JSON's fields a reviewer needs (`sluice_core::builders::notice::approval_needed`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApprovalBody {
    pub console_link: String,
    pub approval: Approval,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Approval {
    pub pipeline_name: String,
    pub stage_name: String,
    pub action_name: String,
    pub expires: String,
    pub external_entity_link: Option<String>,
    pub approval_review_link: String,
    pub custom_data: Option<String>,
}

/// The body read as an approval-needed message, or `None` for any other text.
pub(crate) fn approval(body: &str) -> Option<ApprovalBody> {
    serde_json::from_str(body).ok()
}

/// A mail: the plain-text part, and the HTML part of an approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mail {
    pub text: String,
    pub html: Option<String>,
}

pub(crate) fn mail(subject: &str, body: &str) -> Mail {
    let Some(notice) = approval(body) else {
        return Mail {
            text: body.to_string(),
            html: None,
        };
    };
    let a = &notice.approval;
    let mut text = format!(
        "{subject}\n\n\
         Pipeline: {}\nStage: {}\nAction: {}\nExpires: {} (UTC)\n",
        a.pipeline_name, a.stage_name, a.action_name, a.expires
    );
    if let Some(custom) = &a.custom_data {
        text.push_str(&format!("Comments: {custom}\n"));
    }
    if let Some(link) = &a.external_entity_link {
        text.push_str(&format!("Content to review: {link}\n"));
    }
    text.push_str(&format!(
        "\nTo approve or reject, open:\n{}\n\nThe pipeline: {}\n",
        a.approval_review_link, notice.console_link
    ));

    let row = |name: &str, value: &str| {
        format!(
            "<tr><th align=\"left\">{}</th><td>{}</td></tr>\n",
            escape(name),
            escape(value)
        )
    };
    let mut rows = String::new();
    rows.push_str(&row("Pipeline", &a.pipeline_name));
    rows.push_str(&row("Stage", &a.stage_name));
    rows.push_str(&row("Action", &a.action_name));
    rows.push_str(&row("Expires", &format!("{} (UTC)", a.expires)));
    if let Some(custom) = &a.custom_data {
        rows.push_str(&row("Comments", custom));
    }
    if let Some(link) = &a.external_entity_link {
        // Only a web link becomes one: a `javascript:` "link" stays text.
        let cell = if is_web_link(link) {
            format!("<a href=\"{0}\">{0}</a>", escape(link))
        } else {
            escape(link)
        };
        rows.push_str(&format!(
            "<tr><th align=\"left\">Content to review</th><td>{cell}</td></tr>\n"
        ));
    }
    let review = escape(&a.approval_review_link);
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>\n\
         <p>{title}</p>\n<table>\n{rows}</table>\n\
         <p><a href=\"{review}\">Approve or reject</a></p>\n\
         <p>Or open: {review}</p>\n\
         <p><a href=\"{console}\">The pipeline</a></p>\n</body></html>\n",
        title = escape(subject),
        console = escape(&notice.console_link),
    );
    Mail {
        text,
        html: Some(html),
    }
}

/// Slack's longest section text and button URL (Block Kit reference), in characters.
const SLACK_SECTION_CHARS: usize = 3000;
const SLACK_URL_CHARS: usize = 3000;

/// The JSON a Slack incoming webhook takes (https://api.slack.com/messaging/webhooks): `text`, the
/// fallback notifications show, and `blocks`: a section, and for an approval a button to its review link.
pub(crate) fn slack(subject: &str, body: &str) -> Value {
    let Some(notice) = approval(body) else {
        let text = if subject.is_empty() {
            body.to_string()
        } else {
            format!("{subject}\n{body}")
        };
        return json!({
            "text": mrkdwn(&text),
            "blocks": [section(&mrkdwn(&text))],
        });
    };
    let a = &notice.approval;
    let mut lines = vec![
        format!("*{}*", mrkdwn(subject)),
        format!(
            "Pipeline *{}*, stage *{}*, action *{}*",
            mrkdwn(&a.pipeline_name),
            mrkdwn(&a.stage_name),
            mrkdwn(&a.action_name)
        ),
        format!("Expires {} (UTC)", mrkdwn(&a.expires)),
    ];
    if let Some(custom) = &a.custom_data {
        lines.push(format!("Comments: {}", mrkdwn(custom)));
    }
    if let Some(link) = &a.external_entity_link {
        lines.push(format!("Content to review: {}", mrkdwn(link)));
    }
    let mut blocks = vec![section(&lines.join("\n"))];
    let review = &a.approval_review_link;
    if is_web_link(review) && review.chars().count() <= SLACK_URL_CHARS {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": {"type": "plain_text", "text": "Approve or reject"},
                "url": review,
            }]
        }));
    }
    json!({
        "text": format!("{}: {}", mrkdwn(subject), mrkdwn(review)),
        "blocks": blocks,
    })
}

fn section(text: &str) -> Value {
    json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": cut(text, SLACK_SECTION_CHARS)},
    })
}

/// At most `max` characters, ending in "…" when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut kept: String = text.chars().take(max - 1).collect();
    kept.push('…');
    kept
}

/// Text for Slack's mrkdwn: the three characters it reads as markup escaped, as its docs ask.
fn mrkdwn(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn is_web_link(link: &str) -> bool {
    let lower = link.to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

#[cfg(test)]
mod tests {
    use super::*;

    const REVIEW: &str = "http://127.0.0.1:4570/view/Release/Gate/Approve/approve/0f8e4c1e-2b6a-4d8c-9a59-3f1f8c1d2e3a";

    fn body(custom: Option<&str>, external: Option<&str>) -> String {
        json!({
            "region": "us-east-1",
            "consoleLink": "http://127.0.0.1:4570/view/Release",
            "approval": {
                "pipelineName": "Release",
                "stageName": "Gate",
                "actionName": "Approve",
                "token": "0f8e4c1e-2b6a-4d8c-9a59-3f1f8c1d2e3a",
                "expires": "2026-01-08T00:00Z",
                "externalEntityLink": external,
                "approvalReviewLink": REVIEW,
                "customData": custom,
            }
        })
        .to_string()
    }

    const SUBJECT: &str = "APPROVAL NEEDED: AWS CodePipeline Release for action Approve";

    #[test]
    fn an_approval_mail_carries_the_link_and_the_details_in_both_parts() {
        let mail = mail(
            SUBJECT,
            &body(
                Some("Check <b>staging</b> & ship"),
                Some("https://staging.example.com"),
            ),
        );
        for part in [&mail.text, mail.html.as_ref().unwrap()] {
            assert!(part.contains(REVIEW), "{part}");
            assert!(part.contains("2026-01-08T00:00Z"), "{part}");
            assert!(part.contains("Release") && part.contains("Gate"), "{part}");
            assert!(part.contains("https://staging.example.com"), "{part}");
        }
        assert!(mail.text.contains("Comments: Check <b>staging</b> & ship"));
        let html = mail.html.unwrap();
        assert!(
            html.contains("Check &lt;b&gt;staging&lt;/b&gt; &amp; ship"),
            "custom data is text in the HTML: {html}"
        );
        assert!(html.contains(&format!("<a href=\"{REVIEW}\">")), "{html}");
        assert!(html.contains("<a href=\"https://staging.example.com\">"));
    }

    #[test]
    fn hostile_values_stay_text_in_the_html() {
        let mail = mail(
            "<script>x</script>",
            &body(Some("\"><img src=x>"), Some("javascript:alert(1)")),
        );
        let html = mail.html.unwrap();
        assert!(
            !html.contains("<script>") && !html.contains("<img"),
            "{html}"
        );
        assert!(!html.contains("href=\"javascript:"), "{html}");
        assert!(html.contains("javascript:alert(1)"), "still shown, as text");
    }

    #[test]
    fn other_messages_are_their_body_as_text() {
        let mail = mail("Build failed", "{\"not\": \"an approval\"}");
        assert_eq!(mail.text, "{\"not\": \"an approval\"}");
        assert_eq!(mail.html, None);
        let slack = slack("Build failed", "line <1> & 2");
        assert_eq!(slack["text"], "Build failed\nline &lt;1&gt; &amp; 2");
        assert_eq!(slack["blocks"][0]["type"], "section");
        assert_eq!(slack["blocks"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn an_approval_in_slack_is_a_section_and_a_button_to_the_review_link() {
        let message = slack(SUBJECT, &body(Some("a <b> & c"), None));
        assert_eq!(message["text"], format!("{SUBJECT}: {REVIEW}"));
        let blocks = message["blocks"].as_array().unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0]["type"], "section");
        assert_eq!(blocks[0]["text"]["type"], "mrkdwn");
        let section = blocks[0]["text"]["text"].as_str().unwrap();
        assert!(
            section.contains("Comments: a &lt;b&gt; &amp; c"),
            "{section}"
        );
        assert!(section.contains("Expires 2026-01-08T00:00Z"), "{section}");
        assert_eq!(blocks[1]["type"], "actions");
        let button = &blocks[1]["elements"][0];
        assert_eq!(button["type"], "button");
        assert_eq!(button["text"]["type"], "plain_text");
        assert_eq!(button["url"], REVIEW);
        let long = slack("s", &"x".repeat(10_000));
        let text = long["blocks"][0]["text"]["text"].as_str().unwrap();
        assert_eq!(text.chars().count(), SLACK_SECTION_CHARS);
    }
}
