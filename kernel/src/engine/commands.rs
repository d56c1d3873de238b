//! The registry of native `:` commands: cells such as `:help` or `:version`
//! that run linked Rust code at once, with no compilation.
//!
//! Engines start from [`CommandRegistry::standard`] and register more.
//! `:help` is answered by the registry itself, so it always lists every
//! registered command. The registry does not parse Rust: a command is one line,
//! its name, then free-form arguments the command splits as it likes.

use super::{Bundle, Event};
use serde_json::Value;

/// What a command body receives: its argument text and the event sink.
pub type CommandFn = Box<dyn Fn(&str, &mut dyn FnMut(Event)) -> Result<(), CommandError> + Send + Sync>;

/// A failure a command reports; the engine turns it into an [`Event::Error`].
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub message: String,
}

impl CommandError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// One registered command.
pub struct Command {
    /// The name without the colon, e.g. `version`.
    pub name: &'static str,
    /// The argument synopsis shown by `:help`, e.g. `SECONDS`.
    pub args: &'static str,
    /// One line saying what it does.
    pub help: &'static str,
    pub run: CommandFn,
}

/// The commands an engine understands, in registration order.
#[derive(Default)]
pub struct CommandRegistry {
    commands: Vec<Command>,
}

impl CommandRegistry {
    /// The commands every engine has: `:help` (built in) and `:version`.
    pub fn standard() -> Self {
        let mut registry = Self::default();
        registry.register(
            "version",
            "",
            "Show the ferrolab version",
            Box::new(|_, sink| {
                sink(Event::Result(super::plain(format!(
                    "ferrolab {}",
                    env!("CARGO_PKG_VERSION")
                ))));
                Ok(())
            }),
        );
        registry
    }

    /// Adds a command; a later registration of the same name replaces the earlier.
    pub fn register(&mut self, name: &'static str, args: &'static str, help: &'static str, run: CommandFn) {
        self.commands.retain(|c| c.name != name);
        self.commands.push(Command {
            name,
            args,
            help,
            run,
        });
    }

    /// Every command name with its colon, `:help` included, for completion.
    pub fn names(&self) -> Vec<String> {
        [":help".to_string(), ":doc".to_string()]
            .into_iter()
            .chain(self.commands.iter().map(|c| format!(":{}", c.name)))
            .collect()
    }

    /// The help line for `name` (without colon), if it is a command.
    pub fn help_for(&self, name: &str) -> Option<String> {
        if name == "help" {
            return Some(":help [COMMAND]  List the commands, or describe one".into());
        }
        if name == "doc" {
            // Answered before the engine by `engine::execute_cell`, which pages `inspect`.
            return Some(":doc NAME  Show the documentation of NAME (also `?NAME`)".into());
        }
        self.find(name).map(describe)
    }

    fn find(&self, name: &str) -> Option<&Command> {
        self.commands.iter().find(|c| c.name == name)
    }

    /// Runs one `:` line (`line` starts with `:`). Unknown commands and
    /// command failures become an [`Event::Error`].
    pub fn run(&self, line: &str, sink: &mut dyn FnMut(Event)) -> Result<(), ()> {
        let line = line.trim().trim_start_matches(':');
        let (name, args) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let args = args.trim();
        if name == "help" {
            return self.help(args, sink);
        }
        let result = match self.find(name) {
            Some(command) => (command.run)(args, sink),
            None => Err(CommandError::new(format!(
                "unknown command `:{name}`; `:help` lists the commands"
            ))),
        };
        result.map_err(|err| {
            sink(Event::Error {
                ename: "CommandError".into(),
                evalue: err.message.clone(),
                traceback: vec![format!("CommandError: :{name}: {}", err.message)],
            })
        })
    }

    fn help(&self, args: &str, sink: &mut dyn FnMut(Event)) -> Result<(), ()> {
        let text = if args.is_empty() {
            let mut lines = vec![
                "Commands:".to_string(),
                format!("  {}", self.help_for("help").unwrap()),
                format!("  {}", self.help_for("doc").unwrap()),
            ];
            lines.extend(self.commands.iter().map(|c| format!("  {}", describe(c))));
            lines.join("\n")
        } else {
            match self.help_for(args.trim_start_matches(':')) {
                Some(line) => line,
                None => {
                    sink(Event::Error {
                        ename: "CommandError".into(),
                        evalue: format!("no command `{args}`"),
                        traceback: vec![format!("CommandError: no command `{args}`")],
                    });
                    return Err(());
                }
            }
        };
        sink(Event::Result(super::plain(text)));
        Ok(())
    }
}

fn describe(c: &Command) -> String {
    let synopsis = if c.args.is_empty() {
        format!(":{}", c.name)
    } else {
        format!(":{} {}", c.name, c.args)
    };
    format!("{synopsis:<16} {}", c.help)
}

/// A bundle with the same text as `text/plain` and, escaped, as `text/html`.
pub fn text_and_html(text: &str) -> Bundle {
    let mut bundle = super::plain(text);
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    bundle.insert("text/html".into(), Value::String(format!("<pre>{escaped}</pre>")));
    bundle
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(registry: &CommandRegistry, line: &str) -> Vec<Event> {
        let mut events = Vec::new();
        let _ = registry.run(line, &mut |e| events.push(e));
        events
    }

    #[test]
    fn help_lists_every_command() {
        let mut registry = CommandRegistry::standard();
        registry.register("extra", "X", "An extra command", Box::new(|_, _| Ok(())));
        let events = run(&registry, ":help");
        let Event::Result(bundle) = &events[0] else {
            panic!("{events:?}")
        };
        let text = bundle["text/plain"].as_str().unwrap();
        for name in [":help", ":version", ":extra X"] {
            assert!(text.contains(name), "{text}");
        }
    }

    #[test]
    fn version_and_unknown() {
        let registry = CommandRegistry::standard();
        let events = run(&registry, ":version");
        assert_eq!(
            events,
            vec![Event::Result(super::super::plain(format!(
                "ferrolab {}",
                env!("CARGO_PKG_VERSION")
            )))]
        );
        let events = run(&registry, ":nope 1 2");
        assert!(matches!(&events[0], Event::Error { evalue, .. } if evalue.contains(":nope")));
        let events = run(&registry, ":help nope");
        assert!(matches!(&events[0], Event::Error { .. }));
    }
}
