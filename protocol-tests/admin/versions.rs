//! Every advertised version of the admin APIs through a raw client, with the exact error codes
//! Kafka gives.

use kafka_protocol::messages::api_versions_request::ApiVersionsRequest;
use kafka_protocol::messages::create_partitions_request::{
    CreatePartitionsAssignment, CreatePartitionsTopic,
};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    alter_configs_request, incremental_alter_configs_request, AlterConfigsRequest, ApiKey,
    BrokerId, CreatePartitionsRequest, CreateTopicsRequest, DeleteRecordsRequest,
    DescribeClusterRequest, DescribeConfigsRequest, DescribeLogDirsRequest, FetchRequest,
    IncrementalAlterConfigsRequest, ListOffsetsRequest,
};

use super::common::{connect_raw, persisted_configs, produce};
use crate::support::broker::TestBroker;
use crate::support::raw::{s, topic_name, RawClient};

const TOPIC: i8 = 2;
const BROKER: i8 = 4;
const SOURCE_TOPIC: i8 = 1;
const SOURCE_STATIC_BROKER: i8 = 4;
const SOURCE_DEFAULT: i8 = 5;
const TYPE_INT: i8 = 3;
const TYPE_LONG: i8 = 5;
const TYPE_LIST: i8 = 7;

const OFFSET_OUT_OF_RANGE: i16 = 1;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_PARTITIONS: i16 = 37;
const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
const INVALID_CONFIG: i16 = 40;
const INVALID_REQUEST: i16 = 42;
const MISMATCHED_ENDPOINT_TYPE: i16 = 114;

fn entry<'a>(result: &'a DescribeConfigsResult, name: &str) -> &'a DescribeConfigsResourceResult {
    result
        .configs
        .iter()
        .find(|c| c.name.as_str() == name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", result.resource_name))
}

fn value(result: &DescribeConfigsResult, name: &str) -> Option<String> {
    entry(result, name).value.as_ref().map(|v| v.to_string())
}

async fn describe_topic(raw: &mut RawClient, version: i16, name: &str) -> DescribeConfigsResult {
    let request =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(TOPIC)
            .with_resource_name(s(name))]);
    let mut response = raw.call(version, &request).await;
    let result = response.results.remove(0);
    assert_eq!(result.error_code, 0, "describe {name}: {result:?}");
    result
}

#[tokio::test(flavor = "multi_thread")]
async fn api_versions_advertises_the_admin_apis() {
    let broker = TestBroker::start().await;
    let mut raw = connect_raw(broker.addr()).await;
    let response = raw.call(3, &ApiVersionsRequest::default()).await;
    let range = |key: ApiKey| {
        response
            .api_keys
            .iter()
            .find(|k| k.api_key == key as i16)
            .map(|k| (k.min_version, k.max_version))
    };
    assert_eq!(range(ApiKey::DescribeConfigs), Some((1, 4)));
    assert_eq!(range(ApiKey::AlterConfigs), Some((0, 2)));
    assert_eq!(range(ApiKey::IncrementalAlterConfigs), Some((0, 1)));
    assert_eq!(range(ApiKey::CreatePartitions), Some((0, 3)));
    assert_eq!(range(ApiKey::DeleteRecords), Some((0, 2)));
    assert_eq!(range(ApiKey::DescribeCluster), Some((0, 2)));
    assert_eq!(range(ApiKey::DescribeLogDirs), Some((1, 4)));
}

#[tokio::test(flavor = "multi_thread")]
async fn describe_configs_reports_values_sources_synonyms_types_and_docs_at_every_version() {
    let broker =
        TestBroker::start_with(&[("log.retention.ms", "86400000"), ("num.partitions", "2")]).await;
    let mut raw = connect_raw(broker.addr()).await;
    raw.create_topic_at(
        7,
        "dc",
        1,
        &[("segment.bytes", "65536"), ("cleanup.policy", "delete")],
    )
    .await;

    for version in 1..=4 {
        let request = DescribeConfigsRequest::default()
            .with_include_synonyms(true)
            .with_include_documentation(version >= 3)
            .with_resources(vec![
                DescribeConfigsResource::default()
                    .with_resource_type(TOPIC)
                    .with_resource_name(s("dc")),
                DescribeConfigsResource::default()
                    .with_resource_type(TOPIC)
                    .with_resource_name(s("dc"))
                    .with_configuration_keys(Some(vec![s("retention.ms"), s("no.such.key")])),
                DescribeConfigsResource::default()
                    .with_resource_type(TOPIC)
                    .with_resource_name(s("missing")),
                DescribeConfigsResource::default()
                    .with_resource_type(BROKER)
                    .with_resource_name(s("1")),
                DescribeConfigsResource::default()
                    .with_resource_type(BROKER)
                    .with_resource_name(s("7")),
            ]);
        let response = raw.call(version, &request).await;
        let [all, some, missing, node, other] = &response.results[..] else {
            panic!("v{version}: 5 results expected: {response:?}");
        };
        assert_eq!(all.error_code, 0, "v{version}: {all:?}");
        let names: Vec<&str> = all.configs.iter().map(|c| c.name.as_str()).collect();
        for key in [
            "cleanup.policy",
            "max.message.bytes",
            "min.insync.replicas",
            "retention.bytes",
            "segment.ms",
            "message.timestamp.type",
        ] {
            assert!(
                names.contains(&key),
                "v{version}: {key} missing from {names:?}"
            );
        }
        let seg = entry(all, "segment.bytes");
        assert_eq!(
            (
                seg.value.as_deref(),
                seg.config_source,
                seg.read_only,
                seg.is_sensitive
            ),
            (Some("65536"), SOURCE_TOPIC, false, false)
        );
        let synonyms: Vec<(&str, i8)> = seg
            .synonyms
            .iter()
            .map(|s| (s.name.as_str(), s.source))
            .collect();
        assert_eq!(
            synonyms,
            [
                ("segment.bytes", SOURCE_TOPIC),
                ("log.segment.bytes", SOURCE_DEFAULT)
            ],
            "v{version}"
        );
        let retention = entry(all, "retention.ms");
        assert_eq!(
            (retention.value.as_deref(), retention.config_source),
            (Some("86400000"), SOURCE_STATIC_BROKER),
            "v{version}"
        );
        assert_eq!(
            retention.synonyms.len(),
            2,
            "v{version}: static then default: {retention:?}"
        );
        assert_eq!(retention.synonyms[1].value.as_deref(), Some("604800000"));
        let max = entry(all, "max.message.bytes");
        assert_eq!(
            (max.value.as_deref(), max.config_source),
            (Some("1048588"), SOURCE_DEFAULT)
        );
        if version >= 3 {
            assert_eq!(
                (seg.config_type, retention.config_type),
                (TYPE_INT, TYPE_LONG),
                "v{version}"
            );
            assert_eq!(entry(all, "cleanup.policy").config_type, TYPE_LIST);
            assert!(
                seg.documentation.as_ref().is_some_and(|d| !d.is_empty()),
                "v{version}: {seg:?}"
            );
        }

        let some_names: Vec<&str> = some.configs.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            some_names,
            ["retention.ms"],
            "v{version}: only the keys asked for"
        );
        assert_eq!(missing.error_code, UNKNOWN_TOPIC_OR_PARTITION, "v{version}");
        assert_eq!(node.error_code, 0, "v{version}: {node:?}");
        let partitions = entry(node, "num.partitions");
        assert_eq!(
            (
                partitions.value.as_deref(),
                partitions.config_source,
                partitions.read_only
            ),
            (Some("2"), SOURCE_STATIC_BROKER, true)
        );
        let dirs = value(node, "log.dirs").expect("log.dirs");
        assert_eq!(dirs, broker.dir.path().to_string_lossy());
        assert_eq!(
            entry(node, "message.max.bytes").config_source,
            SOURCE_DEFAULT
        );
        assert_eq!(
            other.error_code, INVALID_REQUEST,
            "v{version}: another broker's id"
        );
    }

    // Without synonyms asked for, none are sent; without documentation asked for, none either.
    let response = raw
        .call(
            4,
            &DescribeConfigsRequest::default().with_resources(vec![
                DescribeConfigsResource::default()
                    .with_resource_type(TOPIC)
                    .with_resource_name(s("dc")),
            ]),
        )
        .await;
    let extra: Vec<_> = response.results[0]
        .configs
        .iter()
        .filter(|c| !c.synonyms.is_empty() || c.documentation.is_some())
        .collect();
    assert!(extra.is_empty(), "{extra:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn create_topics_v5_and_later_return_every_effective_config() {
    let broker = TestBroker::start().await;
    let mut raw = connect_raw(broker.addr()).await;
    for version in [4, 5, 7] {
        let name = format!("ct{version}");
        let request = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
            .with_name(topic_name(&name))
            .with_num_partitions(1)
            .with_replication_factor(1)
            .with_configs(vec![CreatableTopicConfig::default()
                .with_name(s("retention.ms"))
                .with_value(Some(s("1234")))])]);
        let response = raw.call(version, &request).await;
        let result = &response.topics[0];
        assert_eq!(result.error_code, 0, "v{version}: {result:?}");
        let configs = result.configs.clone().unwrap_or_default();
        if version < 5 {
            assert!(configs.is_empty());
            continue;
        }
        let described = describe_topic(&mut raw, 4, &name).await;
        assert_eq!(
            configs.len(),
            described.configs.len(),
            "v{version}: as many as DescribeConfigs lists"
        );
        let retention = configs
            .iter()
            .find(|c| c.name.as_str() == "retention.ms")
            .expect("retention.ms");
        assert_eq!(
            (retention.value.as_deref(), retention.config_source),
            (Some("1234"), SOURCE_TOPIC)
        );
        let segment = configs
            .iter()
            .find(|c| c.name.as_str() == "segment.bytes")
            .expect("segment.bytes");
        assert_eq!(
            (segment.value.as_deref(), segment.config_source),
            (Some("1073741824"), SOURCE_DEFAULT)
        );
    }
}

fn alterable(
    name: &str,
    op: i8,
    value: Option<&str>,
) -> incremental_alter_configs_request::AlterableConfig {
    incremental_alter_configs_request::AlterableConfig::default()
        .with_name(s(name))
        .with_config_operation(op)
        .with_value(value.map(s))
}

fn incremental(
    resource_type: i8,
    name: &str,
    configs: Vec<incremental_alter_configs_request::AlterableConfig>,
) -> incremental_alter_configs_request::AlterConfigsResource {
    incremental_alter_configs_request::AlterConfigsResource::default()
        .with_resource_type(resource_type)
        .with_resource_name(s(name))
        .with_configs(configs)
}

#[tokio::test(flavor = "multi_thread")]
async fn incremental_alter_configs_set_delete_append_subtract_apply_live_and_persist_at_every_version(
) {
    const SET: i8 = 0;
    const DELETE: i8 = 1;
    const APPEND: i8 = 2;
    const SUBTRACT: i8 = 3;
    let broker = TestBroker::start().await;
    let mut raw = connect_raw(broker.addr()).await;
    for version in 0..=1 {
        let name = format!("iac{version}");
        raw.create_topic_at(7, &name, 2, &[("retention.ms", "100000")])
            .await;
        let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
            incremental(
                TOPIC,
                &name,
                vec![
                    alterable("segment.bytes", SET, Some("4096")),
                    alterable("retention.ms", DELETE, None),
                    alterable("max.message.bytes", SET, Some("2000")),
                    alterable(
                        "leader.replication.throttled.replicas",
                        APPEND,
                        Some("0:1,1:1"),
                    ),
                ],
            ),
            incremental(
                TOPIC,
                "missing",
                vec![alterable("segment.bytes", SET, Some("4096"))],
            ),
            incremental(
                TOPIC,
                &name,
                vec![alterable("retention.ms", SET, Some("soon"))],
            ),
            incremental(
                TOPIC,
                &name,
                vec![alterable("no.such.config", SET, Some("1"))],
            ),
            incremental(
                TOPIC,
                &name,
                vec![alterable("retention.ms", APPEND, Some("1"))],
            ),
            incremental(
                TOPIC,
                &name,
                vec![alterable("cleanup.policy", SET, Some("shred"))],
            ),
            incremental(
                TOPIC,
                &name,
                vec![
                    alterable("segment.ms", SET, Some("1")),
                    alterable("segment.ms", DELETE, None),
                ],
            ),
            incremental(
                BROKER,
                "1",
                vec![alterable("log.retention.ms", SET, Some("1"))],
            ),
        ]);
        let response = raw.call(version, &request).await;
        let codes: Vec<i16> = response.responses.iter().map(|r| r.error_code).collect();
        assert_eq!(
            codes,
            [
                0,
                UNKNOWN_TOPIC_OR_PARTITION,
                INVALID_CONFIG,
                INVALID_CONFIG,
                INVALID_CONFIG,
                INVALID_CONFIG,
                INVALID_REQUEST,
                INVALID_REQUEST
            ],
            "v{version}: {response:?}"
        );
        assert!(response.responses[7]
            .error_message
            .as_ref()
            .is_some_and(|m| m.contains("Cannot update these configs dynamically")));
        assert!(response.responses[5]
            .error_message
            .as_ref()
            .is_some_and(|m| m.contains("shred")));

        let described = describe_topic(&mut raw, 4, &name).await;
        assert_eq!(value(&described, "segment.bytes").as_deref(), Some("4096"));
        assert_eq!(
            entry(&described, "retention.ms").config_source,
            SOURCE_DEFAULT,
            "deleted override"
        );
        assert_eq!(
            value(&described, "leader.replication.throttled.replicas").as_deref(),
            Some("0:1,1:1")
        );
        // Live: the partition logs use the new settings without a restart.
        let topic = broker.handle.broker().topics.get(&name).expect("topic");
        for p in topic.partitions() {
            let config = p.config();
            assert_eq!(
                (config.segment_bytes, config.max_message_bytes),
                (4096, 2000)
            );
            assert_eq!(config.retention_ms, 604_800_000);
        }
        // Persisted.
        let record = persisted_configs(&broker, &name);
        assert_eq!(record["configs"]["segment.bytes"], "4096", "{record}");
        assert!(record["configs"].get("retention.ms").is_none(), "{record}");

        // SUBTRACT, and validate_only changes nothing.
        let response = raw
            .call(
                version,
                &IncrementalAlterConfigsRequest::default().with_resources(vec![incremental(
                    TOPIC,
                    &name,
                    vec![alterable(
                        "leader.replication.throttled.replicas",
                        SUBTRACT,
                        Some("0:1"),
                    )],
                )]),
            )
            .await;
        assert_eq!(response.responses[0].error_code, 0);
        let response = raw
            .call(
                version,
                &IncrementalAlterConfigsRequest::default()
                    .with_validate_only(true)
                    .with_resources(vec![incremental(
                        TOPIC,
                        &name,
                        vec![alterable("segment.bytes", SET, Some("8192"))],
                    )]),
            )
            .await;
        assert_eq!(response.responses[0].error_code, 0);
        let described = describe_topic(&mut raw, 4, &name).await;
        assert_eq!(
            value(&described, "leader.replication.throttled.replicas").as_deref(),
            Some("1:1")
        );
        assert_eq!(
            value(&described, "segment.bytes").as_deref(),
            Some("4096"),
            "validate_only"
        );
    }

    // Survives a restart.
    let broker = broker.restart(&[]).await;
    let mut raw = connect_raw(broker.addr()).await;
    let described = describe_topic(&mut raw, 4, "iac1").await;
    assert_eq!(value(&described, "segment.bytes").as_deref(), Some("4096"));
    let topic = broker.handle.broker().topics.get("iac1").expect("topic");
    assert_eq!(topic.partition(1).expect("p1").config().segment_bytes, 4096);
}

#[tokio::test(flavor = "multi_thread")]
async fn alter_configs_replaces_the_whole_override_set_at_every_version() {
    let broker = TestBroker::start().await;
    let mut raw = connect_raw(broker.addr()).await;
    for version in 0..=2 {
        let name = format!("ac{version}");
        raw.create_topic_at(
            7,
            &name,
            1,
            &[("retention.ms", "100000"), ("segment.bytes", "8192")],
        )
        .await;
        let resource = |name: &str, configs: &[(&str, &str)]| {
            alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(TOPIC)
                .with_resource_name(s(name))
                .with_configs(
                    configs
                        .iter()
                        .map(|(k, v)| {
                            alter_configs_request::AlterableConfig::default()
                                .with_name(s(k))
                                .with_value(Some(s(v)))
                        })
                        .collect(),
                )
        };
        let request = AlterConfigsRequest::default().with_resources(vec![
            resource(
                &name,
                &[
                    ("retention.ms", "5000"),
                    ("message.timestamp.type", "LogAppendTime"),
                ],
            ),
            resource("missing", &[("retention.ms", "5000")]),
            resource(&name, &[("retention.ms", "-7")]),
            alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(BROKER)
                .with_resource_name(s("1"))
                .with_configs(vec![alter_configs_request::AlterableConfig::default()
                    .with_name(s("num.partitions"))
                    .with_value(Some(s("4")))]),
        ]);
        let response = raw.call(version, &request).await;
        let codes: Vec<i16> = response.responses.iter().map(|r| r.error_code).collect();
        assert_eq!(
            codes,
            [
                0,
                UNKNOWN_TOPIC_OR_PARTITION,
                INVALID_CONFIG,
                INVALID_REQUEST
            ],
            "v{version}: {response:?}"
        );
        let described = describe_topic(&mut raw, 4, &name).await;
        assert_eq!(value(&described, "retention.ms").as_deref(), Some("5000"));
        assert_eq!(
            value(&described, "message.timestamp.type").as_deref(),
            Some("LogAppendTime")
        );
        let segment = entry(&described, "segment.bytes");
        assert_eq!(
            (segment.value.as_deref(), segment.config_source),
            (Some("1073741824"), SOURCE_DEFAULT),
            "left out = back to default"
        );
        let log = broker
            .handle
            .broker()
            .topics
            .get(&name)
            .expect("topic")
            .partition(0)
            .expect("p0");
        assert_eq!(
            log.config().timestamp_type,
            weir::log::TimestampType::LogAppendTime
        );

        let validate = AlterConfigsRequest::default()
            .with_validate_only(true)
            .with_resources(vec![resource(&name, &[])]);
        assert_eq!(
            raw.call(version, &validate).await.responses[0].error_code,
            0
        );
        let described = describe_topic(&mut raw, 4, &name).await;
        assert_eq!(
            value(&described, "retention.ms").as_deref(),
            Some("5000"),
            "validate_only"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn create_partitions_grows_topics_and_refuses_shrinking_at_every_version() {
    let broker = TestBroker::start().await;
    let mut raw = connect_raw(broker.addr()).await;
    for version in 0..=3 {
        let name = format!("cp{version}");
        raw.create_topic_at(7, &name, 2, &[]).await;
        let grow = |name: &str, count: i32| {
            CreatePartitionsTopic::default()
                .with_name(topic_name(name))
                .with_count(count)
        };
        let request = CreatePartitionsRequest::default()
            .with_topics(vec![grow(&name, 4), grow("missing", 3)]);
        let response = raw.call(version, &request).await;
        let codes: Vec<i16> = response.results.iter().map(|r| r.error_code).collect();
        assert_eq!(
            codes,
            [0, UNKNOWN_TOPIC_OR_PARTITION],
            "v{version}: {response:?}"
        );
        assert_eq!(
            broker
                .handle
                .broker()
                .topics
                .get(&name)
                .expect("topic")
                .partition_count(),
            4
        );

        let request = CreatePartitionsRequest::default().with_topics(vec![grow(&name, 3)]);
        assert_eq!(
            raw.call(version, &request).await.results[0].error_code,
            INVALID_PARTITIONS,
            "v{version}: shrink"
        );
        let request = CreatePartitionsRequest::default().with_topics(vec![grow(&name, 4)]);
        assert_eq!(
            raw.call(version, &request).await.results[0].error_code,
            INVALID_PARTITIONS,
            "v{version}: same count"
        );
        let request = CreatePartitionsRequest::default()
            .with_validate_only(true)
            .with_topics(vec![grow(&name, 6)]);
        assert_eq!(raw.call(version, &request).await.results[0].error_code, 0);
        assert_eq!(
            broker
                .handle
                .broker()
                .topics
                .get(&name)
                .expect("topic")
                .partition_count(),
            4,
            "validate_only"
        );
        let request = CreatePartitionsRequest::default()
            .with_topics(vec![grow(&name, 5).with_assignments(Some(vec![
                CreatePartitionsAssignment::default().with_broker_ids(vec![BrokerId(9)]),
            ]))]);
        assert_eq!(
            raw.call(version, &request).await.results[0].error_code,
            INVALID_REPLICA_ASSIGNMENT
        );
        let request = CreatePartitionsRequest::default()
            .with_topics(vec![grow(&name, 5).with_assignments(Some(vec![
                CreatePartitionsAssignment::default().with_broker_ids(vec![BrokerId(1)]),
            ]))]);
        assert_eq!(raw.call(version, &request).await.results[0].error_code, 0);
        let request =
            CreatePartitionsRequest::default().with_topics(vec![grow(&name, 7), grow(&name, 8)]);
        let codes: Vec<i16> = raw
            .call(version, &request)
            .await
            .results
            .iter()
            .map(|r| r.error_code)
            .collect();
        assert_eq!(
            codes,
            [INVALID_REQUEST, INVALID_REQUEST],
            "a topic named twice"
        );
    }
    // New partitions take records at once, and survive a restart.
    let offsets = produce(&broker.bootstrap(), "cp3", 4, 3).await;
    assert_eq!(offsets, [0, 1, 2]);
    let broker = broker.restart(&[]).await;
    let topic = broker.handle.broker().topics.get("cp3").expect("topic");
    assert_eq!(topic.partition_count(), 5);
    assert_eq!(topic.partition(4).expect("p4").high_watermark(), 3);
}

async fn earliest(raw: &mut RawClient, name: &str, partition: i32) -> i64 {
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(topic_name(name))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(partition)
                .with_timestamp(-2)])]);
    let response = raw.call(7, &request).await;
    let p = &response.topics[0].partitions[0];
    assert_eq!(p.error_code, 0, "{p:?}");
    p.offset
}

async fn fetch_error(raw: &mut RawClient, name: &str, partition: i32, offset: i64) -> i16 {
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_max_bytes(1 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic(topic_name(name))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1 << 20)])]);
    raw.call(4, &request).await.responses[0].partitions[0].error_code
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_records_moves_the_log_start_and_fetch_below_it_is_out_of_range_at_every_version() {
    let broker = TestBroker::start().await;
    let mut raw = connect_raw(broker.addr()).await;
    for version in 0..=2 {
        let name = format!("dr{version}");
        raw.create_topic_at(7, &name, 2, &[]).await;
        produce(&broker.bootstrap(), &name, 0, 10).await;
        produce(&broker.bootstrap(), &name, 1, 4).await;
        let delete = |partition: i32, offset: i64| {
            DeleteRecordsPartition::default()
                .with_partition_index(partition)
                .with_offset(offset)
        };
        let request = DeleteRecordsRequest::default()
            .with_timeout_ms(5000)
            .with_topics(vec![
                DeleteRecordsTopic::default()
                    .with_name(topic_name(&name))
                    .with_partitions(vec![delete(0, 3), delete(1, -1), delete(2, 0)]),
                DeleteRecordsTopic::default()
                    .with_name(topic_name("missing"))
                    .with_partitions(vec![delete(0, 0)]),
            ]);
        let response = raw.call(version, &request).await;
        let got: Vec<(i32, i16, i64)> = response.topics[0]
            .partitions
            .iter()
            .map(|p| (p.partition_index, p.error_code, p.low_watermark))
            .collect();
        assert_eq!(
            got,
            [(0, 0, 3), (1, 0, 4), (2, UNKNOWN_TOPIC_OR_PARTITION, -1)],
            "v{version}"
        );
        assert_eq!(
            response.topics[1].partitions[0].error_code,
            UNKNOWN_TOPIC_OR_PARTITION
        );

        assert_eq!(earliest(&mut raw, &name, 0).await, 3);
        assert_eq!(earliest(&mut raw, &name, 1).await, 4);
        assert_eq!(
            fetch_error(&mut raw, &name, 0, 2).await,
            OFFSET_OUT_OF_RANGE
        );
        assert_eq!(fetch_error(&mut raw, &name, 0, 3).await, 0);

        // Beyond the high watermark: OFFSET_OUT_OF_RANGE; below the log start: a no-op.
        let request =
            DeleteRecordsRequest::default().with_topics(vec![DeleteRecordsTopic::default()
                .with_name(topic_name(&name))
                .with_partitions(vec![delete(0, 11), delete(1, 1)])]);
        let response = raw.call(version, &request).await;
        let got: Vec<(i16, i64)> = response.topics[0]
            .partitions
            .iter()
            .map(|p| (p.error_code, p.low_watermark))
            .collect();
        assert_eq!(got, [(OFFSET_OUT_OF_RANGE, -1), (0, 4)], "v{version}");
    }
    let broker = broker.restart(&[]).await;
    let mut raw = connect_raw(broker.addr()).await;
    assert_eq!(
        earliest(&mut raw, "dr2", 0).await,
        3,
        "the log start survives a restart"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn describe_cluster_shows_the_one_broker_as_controller_at_every_version() {
    let broker = TestBroker::start().await;
    let mut raw = connect_raw(broker.addr()).await;
    let cluster_id = broker.handle.broker().cluster.cluster_id.clone();
    for version in 0..=2 {
        let response = raw
            .call(
                version,
                &DescribeClusterRequest::default().with_include_cluster_authorized_operations(true),
            )
            .await;
        assert_eq!(response.error_code, 0, "v{version}: {response:?}");
        assert_eq!(response.cluster_id.as_str(), cluster_id);
        assert_eq!(response.controller_id, BrokerId(1));
        assert_eq!(response.brokers.len(), 1);
        let b = &response.brokers[0];
        assert_eq!(
            (b.broker_id, b.host.as_str(), b.port),
            (BrokerId(1), "127.0.0.1", i32::from(broker.addr().port()))
        );
        assert_ne!(response.cluster_authorized_operations, i32::MIN);
        let plain = raw.call(version, &DescribeClusterRequest::default()).await;
        assert_eq!(
            plain.cluster_authorized_operations,
            i32::MIN,
            "not asked for"
        );
    }
    let response = raw
        .call(1, &DescribeClusterRequest::default().with_endpoint_type(2))
        .await;
    assert_eq!(response.error_code, MISMATCHED_ENDPOINT_TYPE);
}

#[tokio::test(flavor = "multi_thread")]
async fn describe_log_dirs_reports_real_partition_sizes_at_every_version() {
    let broker = TestBroker::start().await;
    let mut raw = connect_raw(broker.addr()).await;
    raw.create_topic_at(7, "ld", 2, &[]).await;
    raw.create_topic_at(7, "ld-other", 1, &[]).await;
    produce(&broker.bootstrap(), "ld", 1, 5).await;
    let size_of = |p: i32| {
        broker
            .handle
            .broker()
            .topics
            .get("ld")
            .expect("ld")
            .partition(p)
            .expect("p")
            .size_bytes() as i64
    };
    assert!(size_of(1) > 5 * 64);
    let dir = std::fs::canonicalize(broker.dir.path()).expect("dir");
    for version in 1..=4 {
        let all = raw
            .call(
                version,
                &DescribeLogDirsRequest::default().with_topics(None),
            )
            .await;
        assert_eq!(all.results.len(), 1, "v{version}");
        let result = &all.results[0];
        assert_eq!(
            (result.error_code, result.log_dir.as_str()),
            (0, dir.to_str().expect("utf-8")),
            "v{version}"
        );
        let names: Vec<&str> = result.topics.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["ld", "ld-other"], "v{version}");
        let sizes: Vec<(i32, i64)> = result.topics[0]
            .partitions
            .iter()
            .map(|p| (p.partition_index, p.partition_size))
            .collect();
        assert_eq!(sizes, [(0, 0), (1, size_of(1))], "v{version}");

        let some = raw
            .call(
                version,
                &DescribeLogDirsRequest::default().with_topics(Some(vec![
                    DescribableLogDirTopic::default()
                        .with_topic(topic_name("ld"))
                        .with_partitions(vec![1, 9]),
                    DescribableLogDirTopic::default()
                        .with_topic(topic_name("missing"))
                        .with_partitions(vec![0]),
                ])),
            )
            .await;
        let topics = &some.results[0].topics;
        assert_eq!(
            topics.len(),
            1,
            "v{version}: what the directory does not hold is left out"
        );
        let partitions: Vec<i32> = topics[0]
            .partitions
            .iter()
            .map(|p| p.partition_index)
            .collect();
        assert_eq!(partitions, [1]);
        if version >= 4 {
            assert_eq!(
                (some.results[0].total_bytes, some.results[0].usable_bytes),
                (-1, -1)
            );
        }
    }
}
