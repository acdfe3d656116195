//! The route names [`Connect`](crate::Connect) gives edges it names itself, over ids.

use hexvault_cells::{CellId, MAX_ID_LEN, PartitionId, RouteId};

use crate::{Error, Result};

/// The route id [`Connect::connect`](crate::Connect::connect) (and `connect_with` under a
/// rule without [`EdgeRule::named`](crate::EdgeRule::named)) declares for the edge from the
/// cell `from` to the cell `to`, each given as `(partition, cell)`: the text
/// `from_partition/from_cell@to_partition/to_cell`.
///
/// Ids may hold `/` and `@`, so two different pairs of cells can have the same default route
/// name (`x/y@z/w` → `q/r` and `x/y` → `z/w@q/r` are both `x/y@z/w@q/r`); a vault declares
/// a route id once, so compare the ids this returns before declaring an edge that must not
/// collide with another.
///
/// # Errors
/// [`Error::RouteName`] (holding the text) if the text is longer than [`MAX_ID_LEN`] bytes.
pub fn default_route(
    from: (&PartitionId, &CellId),
    to: (&PartitionId, &CellId),
) -> Result<RouteId> {
    route_id(format!("{}/{}@{}/{}", from.0, from.1, to.0, to.1))
}

/// The route id [`Connect::reseal_edge`](crate::Connect::reseal_edge) declares for the
/// reseal edge of the cell `cell` of `partition`: the text `reseal@partition/cell`.
///
/// It can equal the [`default_route`] of an edge between other cells: the edge from cell
/// `c` of partition `reseal@p` to cell `d` of partition `q` and the reseal edge of cell
/// `c@q/d` of partition `p` are both `reseal@p/c@q/d`.
///
/// # Errors
/// [`Error::RouteName`] (holding the text) if the text is longer than [`MAX_ID_LEN`] bytes.
pub fn reseal_route(partition: &PartitionId, cell: &CellId) -> Result<RouteId> {
    route_id(format!("reseal@{partition}/{cell}"))
}

/// `name` as a route id, or [`Error::RouteName`] if it is too long. Every other reason a
/// route id is refused (empty, a character outside the set) cannot occur for text made of
/// valid ids, `/` and `@`; were it to, it is the cells crate's `InvalidId`, never hidden.
fn route_id(name: String) -> Result<RouteId> {
    if name.len() > MAX_ID_LEN {
        return Err(Error::RouteName { name });
    }
    Ok(RouteId::new(&name)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    fn ids(partition: &str, cell: &str) -> (PartitionId, CellId) {
        (
            PartitionId::new(partition).unwrap(),
            CellId::new(cell).unwrap(),
        )
    }

    #[test]
    fn default_and_reseal_routes_are_the_documented_texts() {
        let (p, c) = ids("tenant-1", "inbox");
        let (q, d) = ids("tenant-2", "archive");
        assert_eq!(
            default_route((&p, &c), (&q, &d)).unwrap().as_str(),
            "tenant-1/inbox@tenant-2/archive"
        );
        assert_eq!(
            default_route((&q, &d), (&p, &c)).unwrap().as_str(),
            "tenant-2/archive@tenant-1/inbox"
        );
        assert_eq!(
            reseal_route(&p, &c).unwrap().as_str(),
            "reseal@tenant-1/inbox"
        );
    }

    #[test]
    fn different_cells_can_share_a_route_name() {
        let (a, b) = ids("x", "y@z/w");
        let (c, d) = ids("q", "r");
        let (e, f) = ids("x", "y");
        let (g, h) = ids("z/w@q", "r");
        assert_eq!(
            default_route((&a, &b), (&c, &d)).unwrap(),
            default_route((&e, &f), (&g, &h)).unwrap()
        );
        // An edge whose default name is another cell's reseal name.
        let (r, s) = ids("reseal@p", "c");
        let (t, u) = ids("q", "d");
        let (v, w) = ids("p", "c@q/d");
        assert_eq!(
            default_route((&r, &s), (&t, &u)).unwrap(),
            reseal_route(&v, &w).unwrap()
        );
    }

    #[test]
    fn the_longest_names_that_fit_are_accepted_and_one_byte_more_is_a_route_name_error() {
        // "p/" + 62 + "@q/" + 61 = 128 bytes.
        let (p, c) = ids("p", &"c".repeat(62));
        let (q, d) = ids("q", &"d".repeat(61));
        assert_eq!(
            default_route((&p, &c), (&q, &d)).unwrap().as_str().len(),
            MAX_ID_LEN
        );
        let (q, d) = ids("q", &"d".repeat(62));
        match default_route((&p, &c), (&q, &d)) {
            Err(Error::RouteName { name }) => {
                assert_eq!(name, format!("p/{}@q/{}", "c".repeat(62), "d".repeat(62)));
            }
            other => panic!("expected Error::RouteName, got {other:?}"),
        }
        // "reseal@p/" + 119 = 128 bytes.
        let (p, c) = ids("p", &"c".repeat(119));
        assert_eq!(reseal_route(&p, &c).unwrap().as_str().len(), MAX_ID_LEN);
        let (p, c) = ids("p", &"c".repeat(120));
        match reseal_route(&p, &c) {
            Err(Error::RouteName { name }) => {
                assert_eq!(name, format!("reseal@p/{}", "c".repeat(120)));
            }
            other => panic!("expected Error::RouteName, got {other:?}"),
        }
        // Two ids of the greatest length never fit.
        let (p, c) = ids(&"p".repeat(MAX_ID_LEN), &"c".repeat(MAX_ID_LEN));
        assert!(matches!(
            default_route((&p, &c), (&p, &c)),
            Err(Error::RouteName { .. })
        ));
    }
}
