//! The `transaction.version` feature in ApiVersions, the switch between transactions v1 and
//! v2 for the Java client: supported 0-2 always, finalized at the `transaction.version`
//! setting (nothing finalized at 0), and read by Debian's kcat (librdkafka 2.0.2, which
//! mis-reads default-valued tagged fields) at every level.

use kafka_protocol::messages::ApiVersionsRequest;

use crate::support::broker::TestBroker;
use crate::support::clients::{blocking, kcat};
use crate::support::raw::{s, RawClient};

#[tokio::test(flavor = "multi_thread")]
async fn the_transaction_version_feature_follows_the_setting_and_kcat_reads_every_level() {
    for level in [0i16, 1, 2] {
        let broker = TestBroker::start_with(&[("transaction.version", &level.to_string())]).await;
        let mut c = RawClient::open(broker.addr(), "features").await;
        let r = c
            .call(
                3,
                &ApiVersionsRequest::default()
                    .with_client_software_name(s("weir-tests"))
                    .with_client_software_version(s("1")),
            )
            .await;
        assert_eq!(r.error_code, 0);
        let supported: Vec<_> = r
            .supported_features
            .iter()
            .map(|f| (f.name.to_string(), f.min_version, f.max_version))
            .collect();
        assert_eq!(supported, vec![("transaction.version".to_string(), 0, 2)]);
        let finalized: Vec<_> = r
            .finalized_features
            .iter()
            .map(|f| (f.name.to_string(), f.min_version_level, f.max_version_level))
            .collect();
        if level == 0 {
            assert!(finalized.is_empty(), "{finalized:?}");
            assert_eq!(r.finalized_features_epoch, -1);
        } else {
            assert_eq!(
                finalized,
                vec![("transaction.version".to_string(), level, level)]
            );
            assert_eq!(r.finalized_features_epoch, i64::from(level));
        }
        let b = broker.bootstrap();
        let out = blocking(move || kcat(&["-b", &b, "-L", "-m", "5"], None)).await;
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("1 brokers"),
            "kcat at transaction.version={level}: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
