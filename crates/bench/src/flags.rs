//! The subcommands' own argument parsing: `--name value` and
//! `--name=value` both work.

use anyhow::{Context, Result};

/// One command-line argument: its name and, for `--name=value`, its value.
pub(crate) struct Flag {
    pub(crate) name: String,
    inline: Option<String>,
}

impl Flag {
    pub(crate) fn parse(arg: String) -> Self {
        match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => Flag {
                name: n.to_string(),
                inline: Some(v.to_string()),
            },
            _ => Flag {
                name: arg,
                inline: None,
            },
        }
    }

    /// The flag's value: given inline, else the next argument.
    pub(crate) fn value(
        &self,
        rest: &mut impl Iterator<Item = String>,
        usage: &str,
    ) -> Result<String> {
        self.inline
            .clone()
            .or_else(|| rest.next())
            .with_context(|| format!("{} needs a value\n\n{usage}", self.name))
    }
}
