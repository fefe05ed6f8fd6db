//! The ImageLocality score plugin, after upstream kube-scheduler v1.32–v1.34
//! (`pkg/scheduler/framework/plugins/imagelocality/image_locality.go`).
//!
//! A node scores higher the more of the pod's images (init containers and containers) it
//! already has, each weighted by its size and by how widely it has spread over the cluster:
//! `score = 100 × (clamp(Σ size × nodesHavingImage / totalNodes) − 23 MiB) / (1000 MiB × n − 23 MiB)`
//! with the sum clamped to at least 23 MiB and at most 1000 MiB × n, n the number of init
//! containers plus containers. There is no NormalizeScore.
//!
//! Image names: the node side uses the names exactly as `node.status.images` reports them (the
//! scheduler cache does not normalize them); the pod side appends `:latest` to an image
//! reference without tag or digest (`normalizedImageName`) before looking it up.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Node, Pod};

pub use super::MAX_NODE_SCORE;

const MB: i64 = 1024 * 1024;
/// Lower bound of the summed image score (`minThreshold`).
pub const MIN_THRESHOLD: i64 = 23 * MB;
/// Upper bound of the summed image score per container (`maxContainerThreshold`).
pub const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

/// Score of `node` for `pod`. `total_nodes` is the number of nodes in the scheduler's snapshot
/// (all nodes, not only the feasible ones) and `nodes_having_image` counts, per image name as
/// nodes report it, the nodes that have it (`image_spread_counts` over all nodes).
pub fn score(
    pod: &Pod,
    node: &Node,
    total_nodes: usize,
    nodes_having_image: &BTreeMap<String, usize>,
) -> i64 {
    let Some(spec) = pod.spec.as_ref() else {
        return 0;
    };
    if total_nodes == 0 {
        return 0;
    }
    let images = node.status.as_ref().and_then(|s| s.images.as_deref()).unwrap_or(&[]);
    let mut sum: i64 = 0;
    if !images.is_empty() {
        // sumImageScores: init containers first, then containers.
        for container in spec.init_containers.iter().flatten().chain(spec.containers.iter()) {
            let name = normalized_image_name(container.image.as_deref().unwrap_or(""));
            // The first image listing the name gives its size (as the node's image map does).
            let size = images
                .iter()
                .find(|i| i.names.iter().flatten().any(|n| *n == name))
                .map(|i| i.size_bytes.unwrap_or(0));
            if let Some(size) = size {
                // The node itself has the image, so at least one node does.
                let num_nodes = nodes_having_image.get(&name).copied().unwrap_or(1);
                sum += scaled_image_score(size, num_nodes, total_nodes);
            }
        }
    }
    let num_containers = spec.init_containers.as_ref().map_or(0, Vec::len) + spec.containers.len();
    calculate_priority(sum, num_containers)
}

/// For every image name, the number of the given nodes whose `status.images` list it (a node
/// listing a name twice counts once), as `createImageExistenceMap` in the scheduler snapshot
/// (`pkg/scheduler/backend/cache/snapshot.go`).
pub fn image_spread_counts(nodes: &[&Node]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for node in nodes {
        for name in node_image_names(node) {
            *counts.entry(name.to_string()).or_insert(0) += 1;
        }
    }
    counts
}

/// Every name the node's images are known by, once each (what a node contributes to the image
/// spread counts; the scheduler cache keeps those counts up to date with it).
pub fn node_image_names(node: &Node) -> BTreeSet<&str> {
    node.status
        .iter()
        .flat_map(|s| s.images.iter().flatten())
        .flat_map(|image| image.names.iter().flatten())
        .map(String::as_str)
        .collect()
}

/// `normalizedImageName`: appends `:latest` when the reference has no tag or digest, i.e. when
/// the last `:` does not come after the last `/` (so a registry port is not taken for a tag).
pub fn normalized_image_name(name: &str) -> String {
    // strings.LastIndex semantics: -1 when absent.
    let last = |c: char| name.rfind(c).map_or(-1, |i| i as i64);
    if last(':') <= last('/') {
        format!("{name}:latest")
    } else {
        name.to_string()
    }
}

/// `scaledImageScore`: `int64(float64(size) * (float64(numNodes) / float64(totalNumNodes)))`.
fn scaled_image_score(size: i64, num_nodes: usize, total_nodes: usize) -> i64 {
    let spread = num_nodes as f64 / total_nodes as f64;
    (size as f64 * spread) as i64
}

/// `calculatePriority`.
fn calculate_priority(sum: i64, num_containers: usize) -> i64 {
    let max_threshold = MAX_CONTAINER_THRESHOLD * num_containers as i64;
    let mut sum = sum;
    if sum < MIN_THRESHOLD {
        sum = MIN_THRESHOLD;
    } else if sum > max_threshold {
        sum = max_threshold;
    }
    MAX_NODE_SCORE * (sum - MIN_THRESHOLD) / (max_threshold - MIN_THRESHOLD)
}

// ---------------------------------------------------------------------------------------------
// Framework adapter.

/// The plugin's name in profiles.
pub const NAME: &str = "ImageLocality";

/// The plugin as a profile runs it (no args).
pub struct ImageLocality;

crate::impl_plugin!(ImageLocality, NAME, [score]);

impl crate::scheduler::framework::ScorePlugin for ImageLocality {
    fn score(
        &self,
        _state: &crate::scheduler::framework::CycleState,
        pod: &Pod,
        node: &crate::scheduler::cache::NodeInfo,
        snapshot: &crate::scheduler::cache::Snapshot,
    ) -> Result<i64, crate::scheduler::framework::Status> {
        if snapshot.image_spread.is_empty() {
            // No node lists an image by name: every sum is 0, which scores 0 (calculatePriority
            // clamps it to the lower threshold). Saves reading each Node's status.
            return Ok(0);
        }
        Ok(score(pod, &node.node, snapshot.nodes.len(), snapshot.image_spread))
    }
}

#[cfg(test)]
mod tests {
    //! Ports of upstream's image_locality_test.go (v1.34) with its expected values.

    use super::*;
    use k8s_openapi::api::core::v1::{Container, ContainerImage, NodeStatus, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn containers(images: &[&str]) -> Vec<Container> {
        images.iter().map(|i| Container { image: Some(i.to_string()), ..Default::default() }).collect()
    }

    fn pod(images: &[&str], init_images: &[&str]) -> Pod {
        Pod {
            spec: Some(PodSpec {
                containers: containers(images),
                init_containers: if init_images.is_empty() { None } else { Some(containers(init_images)) },
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// One `ContainerImage` per entry: its names and its size in MiB.
    fn image_node(name: &str, images: &[(&[&str], i64)]) -> Node {
        let images: Vec<ContainerImage> = images
            .iter()
            .map(|(names, size_mb)| ContainerImage {
                names: Some(names.iter().map(|n| n.to_string()).collect()),
                size_bytes: Some(size_mb * MB),
            })
            .collect();
        Node {
            metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
            status: Some(NodeStatus {
                images: if images.is_empty() { None } else { Some(images) },
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn node_40_300_2000(name: &str) -> Node {
        image_node(
            name,
            &[
                (&["gcr.io/40:latest", "gcr.io/40:v1", "gcr.io/40:v1"], 40),
                (&["gcr.io/300:latest", "gcr.io/300:v1"], 300),
                (&["gcr.io/2000:latest"], 2000),
            ],
        )
    }

    fn node_250_10(name: &str) -> Node {
        image_node(name, &[(&["gcr.io/250:latest"], 250), (&["gcr.io/10:latest", "gcr.io/10:v1"], 10)])
    }

    fn node_600_40_900(name: &str) -> Node {
        image_node(
            name,
            &[(&["gcr.io/600:latest"], 600), (&["gcr.io/40:latest"], 40), (&["gcr.io/900:latest"], 900)],
        )
    }

    fn node_300_600_900(name: &str) -> Node {
        image_node(
            name,
            &[(&["gcr.io/300:latest"], 300), (&["gcr.io/600:latest"], 600), (&["gcr.io/900:latest"], 900)],
        )
    }

    fn node_4000_30(name: &str) -> Node {
        image_node(name, &[(&["gcr.io/4000:latest"], 4000), (&["gcr.io/30:latest"], 30)])
    }

    fn node_20_30_40(name: &str) -> Node {
        image_node(
            name,
            &[(&["gcr.io/20:latest"], 20), (&["gcr.io/30:latest"], 30), (&["gcr.io/40:latest"], 40)],
        )
    }

    fn node_without_images(name: &str) -> Node {
        image_node(name, &[])
    }

    /// Scores every node as upstream's test does: the snapshot holds exactly these nodes.
    fn score_all(pod: &Pod, nodes: &[Node]) -> Vec<i64> {
        let refs: Vec<&Node> = nodes.iter().collect();
        let spread = image_spread_counts(&refs);
        nodes.iter().map(|n| score(pod, n, nodes.len(), &spread)).collect()
    }

    #[test]
    fn a_zero_sum_scores_zero_whatever_the_containers() {
        // What the adapter's shortcut for a cluster without image names relies on.
        for containers in 0..6 {
            assert_eq!(calculate_priority(0, containers), 0, "{containers} containers");
        }
        let bare = Node::default();
        assert_eq!(score(&pod(&["nginx"], &["busybox"]), &bare, 3, &BTreeMap::new()), 0);
    }

    #[test]
    fn image_locality_priority() {
        let test_40_250 = pod(&["gcr.io/40", "gcr.io/250"], &[]);
        let test_40_300 = pod(&["gcr.io/40", "gcr.io/300"], &[]);
        let test_min_max = pod(&["gcr.io/10", "gcr.io/4000"], &[]);
        let test_300_600_900 = pod(&["gcr.io/300", "gcr.io/600", "gcr.io/900"], &[]);
        let test_30_40 = pod(&["gcr.io/30", "gcr.io/40"], &[]);
        let test_30_init_300 = pod(&["gcr.io/30"], &["gcr.io/300"]);

        // (name, pod, nodes, want)
        type Case<'a> = (&'a str, &'a Pod, Vec<Node>, Vec<i64>);
        let cases: Vec<Case<'_>> = vec![
            (
                // node1: 40 MiB / 2 < 23 MiB → 0; node2: 100 × (250/2 − 23) / (1000 × 2 − 23) = 5
                "two images spread on two nodes, prefer the larger image one",
                &test_40_250,
                vec![node_40_300_2000("node1"), node_250_10("node2")],
                vec![0, 5],
            ),
            (
                // node1: 100 × ((40 + 300)/2 − 23) / (1000 × 2 − 23) = 7
                "two images on one node, prefer this node",
                &test_40_300,
                vec![node_40_300_2000("node1"), node_250_10("node2")],
                vec![7, 0],
            ),
            (
                // node1: 4000/2 ≥ 1000 × 2 → 100; node2: 10/2 < 23 → 0
                "if exceed limit, use limit",
                &test_min_max,
                vec![node_4000_30("node1"), node_250_10("node2")],
                vec![100, 0],
            ),
            (
                // node1: 100 × (4000/3 − 23) / (1000 × 2 − 23) = 66
                "if exceed limit, use limit (with node which has no images present)",
                &test_min_max,
                vec![node_4000_30("node1"), node_250_10("node2"), node_without_images("node3")],
                vec![66, 0, 0],
            ),
            (
                // node1: 100 × (600 × 2/3 + 900 × 2/3 − 23) / (1000 × 3 − 23) = 32
                // node2: 100 × (300 × 1/3 + 600 × 2/3 + 900 × 2/3 − 23) / (1000 × 3 − 23) = 36
                "pod with multiple large images, node2 is preferred",
                &test_300_600_900,
                vec![node_600_40_900("node1"), node_300_600_900("node2"), node_without_images("node3")],
                vec![32, 36, 0],
            ),
            (
                // node1: 100 × (30 + 40/2 − 23) / (1000 × 2 − 23) = 1; node2: 100 × (30 − 23) / … = 0
                "pod with multiple small images",
                &test_30_40,
                vec![node_20_30_40("node1"), node_4000_30("node2")],
                vec![1, 0],
            ),
            (
                // node1: 100 × (300/2 − 23) / (1000 × 2 − 23) = 6; node2: 30/2 < 23 → 0
                "include InitContainers: two images spread on two nodes, prefer the larger image one",
                &test_30_init_300,
                vec![node_40_300_2000("node1"), node_20_30_40("node2")],
                vec![6, 0],
            ),
        ];
        for (name, pod, nodes, want) in cases {
            assert_eq!(score_all(pod, &nodes), want, "{name}");
        }
    }

    #[test]
    fn normalized_image_name_cases() {
        let digest = "sha256:4813494d137e1631bba301d5acab6e7bb7aa74ce1185d456565ef51d737677b2";
        let root_digest = format!("root@{digest}");
        let cases = [
            ("add :latest postfix 1", "root", "root:latest".to_string()),
            ("add :latest postfix 2", "gcr.io:5000/root", "gcr.io:5000/root:latest".to_string()),
            ("keep it as is 1", "root:tag", "root:tag".to_string()),
            ("keep it as is 2", root_digest.as_str(), root_digest.clone()),
        ];
        for (name, input, want) in cases {
            assert_eq!(normalized_image_name(input), want, "{name}");
        }
    }

    /// Not upstream: a name listed twice on one node counts that node once; a pod without
    /// containers scores 0.
    #[test]
    fn spread_counts_each_node_once() {
        let nodes = [node_40_300_2000("node1"), node_600_40_900("node2"), node_without_images("node3")];
        let refs: Vec<&Node> = nodes.iter().collect();
        let spread = image_spread_counts(&refs);
        assert_eq!(spread.get("gcr.io/40:v1"), Some(&1));
        assert_eq!(spread.get("gcr.io/40:latest"), Some(&2));
        assert_eq!(spread.get("gcr.io/900:latest"), Some(&1));
        assert_eq!(spread.len(), 7);
        assert_eq!(score(&pod(&[], &[]), &nodes[0], 3, &spread), 0);
        assert_eq!(score(&Pod::default(), &nodes[0], 3, &spread), 0);
    }
}
