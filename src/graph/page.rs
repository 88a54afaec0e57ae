//! One page of a Graph list (`{"value": [...], "@odata.nextLink": "..."}`), read with its members
//! counted as they are deserialised, so that memory is bounded by members and not only by bytes.
//!
//! A byte cap alone does not bound memory: a 4 MiB page of `{}` is some 1.4 million members, and
//! each becomes a map and then a struct of a few hundred bytes (measured: about 350 MB, which kills
//! a 128 MB function). Here each member is deserialised on its own, handed to the list's reader at
//! once and dropped, and the page is refused as soon as it passes one of three bounds:
//!
//! - [`MAX_PAGE_MEMBERS`] members in one page. Microsoft documents no page size for the sensor,
//!   health issue and candidate lists; the largest pages it documents in Graph are 999 members
//!   (`$top` on directory objects, "Paging Microsoft Graph data in your app") and 1,000 (`$top`
//!   of the Graph Security API, "Microsoft Graph Security API error responses", Constraints). The
//!   bound is twice that, so a page sized as Graph sizes its largest still passes.
//! - [`MAX_LIST_MEMBERS`] members in one list, all pages together: the 20,000 sensors the 32 MiB
//!   byte bound of a list was sized for ([`super::untrusted::SENSOR_LIST`]).
//! - [`MAX_MEMBER_VALUES`] JSON values in one member (every string, number, list and object
//!   counts), so no single member grows without bound either. A sensor has some twenty, a health
//!   issue with its lists a few dozen.
//!
//! Over a bound, the page is refused with a fixed reason (`502 upstream-bad-response`); nothing of
//! the input is quoted.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Members in one page: twice the largest page Microsoft documents in Graph (1,000).
pub(crate) const MAX_PAGE_MEMBERS: usize = 2_000;
/// Members in one list, all its pages together.
pub(crate) const MAX_LIST_MEMBERS: usize = 20_000;
/// JSON values in one member.
pub(crate) const MAX_MEMBER_VALUES: usize = 4_096;

const NOT_A_COLLECTION: &str =
    "a Graph list (sensors, health issues or candidates) is not the JSON collection expected";
const PAGE_TOO_LONG: &str =
    "a page of a Graph list has more than 2,000 members, twice the largest page Graph documents; not read further";
const LIST_TOO_LONG: &str = "a Graph list has more than 20,000 members in all; not read further";
const MEMBER_TOO_LARGE: &str = "a member of a Graph list holds more than 4,096 JSON values; not read further";

/// A page's members, each as the list's reader made it, and the link to the next page.
pub(crate) struct Page<T> {
    pub members: Vec<T>,
    pub next_link: Option<String>,
}

/// Reads one page of a list of which `collected` members were read before, each member with
/// `read`. The reason of an error is a fixed sentence.
pub(crate) fn parse<T>(
    body: &[u8],
    collected: usize,
    read: fn(&Map<String, Value>) -> T,
) -> Result<Page<T>, &'static str> {
    let room = MAX_LIST_MEMBERS.saturating_sub(collected);
    let (limit, over) = if room < MAX_PAGE_MEMBERS {
        (room, LIST_TOO_LONG)
    } else {
        (MAX_PAGE_MEMBERS, PAGE_TOO_LONG)
    };
    let refusal = Cell::new(None);
    let seed = PageSeed {
        read,
        limit,
        over,
        refusal: &refusal,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let page = seed
        .deserialize(&mut deserializer)
        .and_then(|page| deserializer.end().map(|()| page));
    page.map_err(|_| refusal.get().unwrap_or(NOT_A_COLLECTION))
}

/// The page object: `value` read member by member, `@odata.nextLink` kept, anything else skipped.
struct PageSeed<'a, T> {
    read: fn(&Map<String, Value>) -> T,
    limit: usize,
    over: &'static str,
    /// Why the page was refused, when a bound (not the syntax) refused it.
    refusal: &'a Cell<Option<&'static str>>,
}

impl<'de, T> DeserializeSeed<'de> for PageSeed<'_, T> {
    type Value = Page<T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Page<T>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, T> Visitor<'de> for PageSeed<'_, T> {
    type Value = Page<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an OData collection")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Page<T>, A::Error> {
        let mut members = None;
        let mut next_link = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "value" if members.is_some() => return Err(de::Error::duplicate_field("value")),
                "value" => {
                    members = Some(map.next_value_seed(MembersSeed {
                        read: self.read,
                        limit: self.limit,
                        over: self.over,
                        refusal: self.refusal,
                    })?);
                }
                "@odata.nextLink" if next_link.is_some() => {
                    return Err(de::Error::duplicate_field("@odata.nextLink"));
                }
                "@odata.nextLink" => next_link = map.next_value::<Option<String>>()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let members = members.ok_or_else(|| de::Error::missing_field("value"))?;
        Ok(Page { members, next_link })
    }
}

/// The `value` array: each member read and converted on its own, at most `limit` of them.
struct MembersSeed<'a, T> {
    read: fn(&Map<String, Value>) -> T,
    limit: usize,
    over: &'static str,
    refusal: &'a Cell<Option<&'static str>>,
}

impl<'de, T> DeserializeSeed<'de> for MembersSeed<'_, T> {
    type Value = Vec<T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<T>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, T> Visitor<'de> for MembersSeed<'_, T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        // Graph's own size hint is not trusted: the vector grows as members arrive.
        let mut members = Vec::new();
        loop {
            let budget = Cell::new(MAX_MEMBER_VALUES);
            let member = MemberSeed {
                budget: &budget,
                refusal: self.refusal,
            };
            let Some(fields) = seq.next_element_seed(member)? else {
                return Ok(members);
            };
            if members.len() == self.limit {
                self.refusal.set(Some(self.over));
                return Err(de::Error::custom("too many members"));
            }
            members.push((self.read)(&fields));
        }
    }
}

/// One member: a JSON object, of at most [`MAX_MEMBER_VALUES`] values.
struct MemberSeed<'a> {
    budget: &'a Cell<usize>,
    refusal: &'a Cell<Option<&'static str>>,
}

impl<'de> DeserializeSeed<'de> for MemberSeed<'_> {
    type Value = Map<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        match deserializer.deserialize_map(BoundedValue {
            budget: self.budget,
            refusal: self.refusal,
        })? {
            Value::Object(fields) => Ok(fields),
            _ => Err(de::Error::custom("a member is not an object")),
        }
    }
}

/// Any JSON value, counted against the member's budget as it is built.
#[derive(Clone, Copy)]
struct BoundedValue<'a> {
    budget: &'a Cell<usize>,
    refusal: &'a Cell<Option<&'static str>>,
}

impl BoundedValue<'_> {
    /// Takes one value from the budget; an error once it is spent.
    fn spend<E: de::Error>(&self) -> Result<(), E> {
        match self.budget.get().checked_sub(1) {
            Some(left) => {
                self.budget.set(left);
                Ok(())
            }
            None => {
                self.refusal.set(Some(MEMBER_TOO_LARGE));
                Err(E::custom("member too large"))
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for BoundedValue<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for BoundedValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        self.spend()?;
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.spend()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.spend()?;
        let mut fields = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(self)?;
            fields.insert(key, value);
        }
        Ok(Value::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(fields: &Map<String, Value>) -> Option<String> {
        fields.get("id").and_then(Value::as_str).map(str::to_owned)
    }

    fn page_of(members: usize, member: &str) -> Vec<u8> {
        let mut body = String::from(r#"{"@odata.context":"x","value":["#);
        for n in 0..members {
            if n > 0 {
                body.push(',');
            }
            body.push_str(member);
        }
        body.push_str(r#"],"@odata.nextLink":"https://graph.microsoft.com/beta/x?$skiptoken=2"}"#);
        body.into_bytes()
    }

    #[test]
    fn a_page_is_read_member_by_member_with_its_next_link_and_other_annotations_skipped() {
        let page = parse(&page_of(3, r#"{"id":"a","n":[1,2.5,null,true,{"x":"y"}]}"#), 0, ids).unwrap();
        assert_eq!(page.members, vec![Some("a".to_owned()); 3]);
        assert_eq!(
            page.next_link.as_deref(),
            Some("https://graph.microsoft.com/beta/x?$skiptoken=2")
        );
        let last = parse(br#"{"value":[]}"#, 0, ids).unwrap();
        assert!(last.members.is_empty() && last.next_link.is_none());
    }

    #[test]
    fn a_page_of_a_full_page_of_members_passes_and_one_more_is_refused() {
        assert_eq!(
            parse(&page_of(MAX_PAGE_MEMBERS, "{}"), 0, ids).unwrap().members.len(),
            MAX_PAGE_MEMBERS
        );
        assert_eq!(
            parse(&page_of(MAX_PAGE_MEMBERS + 1, "{}"), 0, ids).err(),
            Some(PAGE_TOO_LONG)
        );
    }

    #[test]
    fn the_list_bound_counts_the_members_of_earlier_pages() {
        let collected = MAX_LIST_MEMBERS - 10;
        assert_eq!(parse(&page_of(10, "{}"), collected, ids).unwrap().members.len(), 10);
        assert_eq!(parse(&page_of(11, "{}"), collected, ids).err(), Some(LIST_TOO_LONG));
        assert_eq!(
            parse(&page_of(1, "{}"), MAX_LIST_MEMBERS, ids).err(),
            Some(LIST_TOO_LONG)
        );
    }

    #[test]
    fn a_member_of_too_many_values_is_refused_however_they_nest() {
        let fits = format!(r#"{{"id":"a","x":[{}]}}"#, vec!["[]"; MAX_MEMBER_VALUES - 3].join(","));
        assert_eq!(parse(&page_of(1, &fits), 0, ids).unwrap().members.len(), 1);
        let flat = format!(r#"{{"x":[{}]}}"#, vec!["0"; MAX_MEMBER_VALUES].join(","));
        assert_eq!(parse(&page_of(1, &flat), 0, ids).err(), Some(MEMBER_TOO_LARGE));
        let nested = format!(r#"{{"x":{}{}}}"#, "[".repeat(100), "]".repeat(100));
        assert!(
            parse(&page_of(1, &nested), 0, ids).is_ok(),
            "depth alone costs one value a level"
        );
    }

    #[test]
    fn anything_but_a_collection_of_objects_is_refused_without_quoting_it() {
        for body in [
            &br#"{"value":{"not":"a list"}}"#[..],
            br#"{"value":["not an object"]}"#,
            br#"{"value":[1]}"#,
            br#"{"nextLink":"x"}"#,
            br#"{"value":[],"value":[]}"#,
            br#"{"value":[]} trailing"#,
            br#"[{"id":"a"}]"#,
            b"<html>secret</html>",
            br#"{"value":[{"id":"trunc"#,
        ] {
            assert_eq!(
                parse(body, 0, ids).err(),
                Some(NOT_A_COLLECTION),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
