//! A parser for the Python list literals the classic Spark job POSTs to `/updateData`:
//! `str(list)` of hashtags and of counts, `['#a', "#it's"]` and `[3, 2.5]`.
//!
//! Parsed, never evaluated: only a list of string and number literals is accepted (the
//! quoting and escapes `repr` produces), with bounded sizes.

/// One list item.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Str(String),
    Num(f64),
}

/// Most items accepted in one list.
pub const MAX_ITEMS: usize = 1000;
/// Longest string item, in characters.
pub const MAX_STR: usize = 1000;

/// Parses `[item, item, ...]`.
pub fn parse(s: &str) -> Result<Vec<Item>, String> {
    let mut p = P {
        c: s.chars().collect(),
        i: 0,
    };
    p.ws();
    p.expect('[')?;
    let mut out = Vec::new();
    p.ws();
    if p.peek() == Some(']') {
        p.i += 1;
    } else {
        loop {
            if out.len() == MAX_ITEMS {
                return Err(format!("more than {MAX_ITEMS} items"));
            }
            p.ws();
            out.push(p.item()?);
            p.ws();
            match p.next() {
                Some(',') => {
                    p.ws();
                    if p.peek() == Some(']') {
                        p.i += 1;
                        break;
                    }
                }
                Some(']') => break,
                other => {
                    return Err(format!(
                        "expected ',' or ']' at {}, found {}",
                        p.i - 1,
                        found(other)
                    ))
                }
            }
        }
    }
    p.ws();
    if p.i != p.c.len() {
        return Err(format!("unexpected text after the list at {}", p.i));
    }
    Ok(out)
}

/// What was found where something else was expected, as people read it.
fn found(c: Option<char>) -> String {
    match c {
        None => "the end".into(),
        Some(c) if c.is_control() || c.is_whitespace() => format!("U+{:04X}", c as u32),
        Some(c) => format!("'{c}'"),
    }
}

struct P {
    c: Vec<char>,
    i: usize,
}

impl P {
    fn peek(&self) -> Option<char> {
        self.c.get(self.i).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.i += 1;
        c
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.i += 1;
        }
    }

    fn expect(&mut self, want: char) -> Result<(), String> {
        match self.next() {
            Some(c) if c == want => Ok(()),
            other => Err(format!(
                "expected '{want}' at {}, found {}",
                self.i - 1,
                found(other)
            )),
        }
    }

    fn item(&mut self) -> Result<Item, String> {
        match self.peek() {
            Some('\'') | Some('"') => self.string().map(Item::Str),
            Some('u') | Some('U') if matches!(self.c.get(self.i + 1), Some('\'') | Some('"')) => {
                self.i += 1; // Python 2's u'...'
                self.string().map(Item::Str)
            }
            Some(c) if c == '-' || c == '+' || c == '.' || c.is_ascii_digit() => self.number(),
            other => Err(format!(
                "expected a string or a number at {}, found {}",
                self.i,
                found(other)
            )),
        }
    }

    fn number(&mut self) -> Result<Item, String> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E' | '_'))
        {
            self.i += 1;
        }
        let text: String = self.c[start..self.i]
            .iter()
            .filter(|&&c| c != '_')
            .collect();
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Item::Num(v)),
            _ => Err(format!("'{text}' is not a number")),
        }
    }

    fn hex(&mut self, n: usize) -> Result<char, String> {
        let digits: String = (0..n).filter_map(|_| self.next()).collect();
        u32::from_str_radix(&digits, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| format!("bad escape \\x/\\u '{digits}'"))
    }

    fn string(&mut self) -> Result<String, String> {
        let quote = self.next().expect("called at a quote");
        let mut s = String::new();
        loop {
            if s.chars().count() > MAX_STR {
                return Err(format!("a string longer than {MAX_STR} characters"));
            }
            match self.next() {
                None => return Err("unterminated string".into()),
                Some(c) if c == quote => return Ok(s),
                Some('\\') => match self.next() {
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some('r') => s.push('\r'),
                    Some('0') => s.push('\0'),
                    Some('x') => s.push(self.hex(2)?),
                    Some('u') => s.push(self.hex(4)?),
                    Some('U') => s.push(self.hex(8)?),
                    Some(c @ ('\\' | '\'' | '"')) => s.push(c),
                    other => return Err(format!("unknown escape \\ followed by {}", found(other))),
                },
                Some(c) => s.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_str_list_writes() {
        assert_eq!(
            parse("['#a', \"#it's\", '#\\xe9t\\u00e9']").unwrap(),
            [
                Item::Str("#a".into()),
                Item::Str("#it's".into()),
                Item::Str("#été".into())
            ]
        );
        assert_eq!(
            parse("[3, 2.5, -1, 1e3]").unwrap(),
            [
                Item::Num(3.0),
                Item::Num(2.5),
                Item::Num(-1.0),
                Item::Num(1000.0)
            ]
        );
        assert_eq!(parse(" [ ] ").unwrap(), []);
        assert_eq!(parse("[1,]").unwrap(), [Item::Num(1.0)]);
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "__import__('os').system('x')",
            "[1, 2",
            "['a' + 'b']",
            "[x]",
            "[1] + [2]",
            "['a'] ; rm",
            "[nan]",
            "[1e999]",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let long = format!("[{}]", vec!["1"; MAX_ITEMS + 1].join(","));
        assert!(parse(&long).is_err());
    }

    #[test]
    fn errors_name_what_was_found_as_text() {
        let cases = [
            ("[1 g]", "expected ',' or ']' at 3, found 'g'"),
            ("[1", "expected ',' or ']' at 2, found the end"),
            ("[\t", "expected a string or a number at 2, found the end"),
            ("(1)", "expected '[' at 0, found '('"),
            ("['a\\q']", "unknown escape \\ followed by 'q'"),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input), Err(want.to_string()), "{input}");
        }
    }
}
