//! The store on DynamoDB: one table for every record (docs/architecture.md, "The store"), each state change a
//! conditional write.
//!
//! Items, by key (`PK` / `SK`); `record` holds the domain record as JSON:
//! ```text
//! P#<pipeline>  LATEST                      the latest version, `version`; GSI1 PIPELINES / <pipeline>
//! P#<pipeline>  V#<version:010>             every version as written
//! P#<pipeline>  E#<execution>               an execution, `version`; GSI1 E#<pipeline> / <start ms:020>#<execution>
//! P#<pipeline>  G#<stage>                   a stage gate, `version`
//! P#<pipeline>  S#<execution>#<stage>       a stage execution, `seq` (when it was first written)
//! P#<pipeline>  SL#<stage>                  a copy of the stage's latest stage execution, `seq`
//! P#<pipeline>  A#<execution>#<attempt id>  an action execution (attempt), `seq`
//! P#<pipeline>  AL#<stage>#<action>         a copy of the action's newest attempt, `seq`
//! P#<pipeline>  SEQ                         the pipeline's counter for `seq`
//! R#<kind>      <id>                        a resource document, `version`; `expires_at` for dedupe records
//! ```
//! Everything of a pipeline shares its partition, so the reads handlers depend on (gates, one execution's
//! stages and attempts, the latest records) are strongly consistent queries. Only the listings
//! (ListPipelines, ListPipelineExecutions) read the GSI, which is eventually consistent, as CodePipeline's
//! listings are. Names cannot contain `#` (the API model's name patterns), so keys never collide.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, DeleteRequest, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TimeToLiveSpecification,
    TransactWriteItem, WriteRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use sluice_core::port::{
    ActionExecutionStore, ExecutionStore, PipelineStore, ResourceStore, StageStore, StoreError,
};
use sluice_core::record::{ActionExecution, PipelineExecution, StageExecution, StoredPipeline};
use sluice_core::stage::Gate;

type Item = HashMap<String, AttributeValue>;

/// What a conditional write expects to find.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// No item (or one whose time to live has passed).
    Absent,
    /// The item at this `version`.
    Version(u64),
}

impl Expect {
    /// The ports' convention: version 0 means never written.
    fn from_version(version: u64) -> Self {
        if version == 0 {
            Self::Absent
        } else {
            Self::Version(version)
        }
    }
}

/// The index the listings read.
pub const LISTING_INDEX: &str = "GSI1";
/// The attribute DynamoDB's time to live reads (epoch seconds).
pub const EXPIRES_AT: &str = "expires_at";
/// Resource kinds that are deduplication records, and how long each is kept: a client request token
/// answers repeats of its StartPipelineExecution for a day (CodePipeline does not document its window).
pub const DEDUPE_KINDS: &[(&str, Duration)] =
    &[("client-request-token", Duration::from_secs(24 * 3600))];

/// BatchWriteItem takes at most this many requests.
const BATCH: usize = 25;

/// The DynamoDB store. Clone it freely: the client is shared.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// Items per query page (DynamoDB's own limit, 1 MB, when unset).
    page_size: Option<i32>,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            page_size: None,
        }
    }

    /// Reads listings `items` at a time: every query then takes several pages (tests use it to go
    /// through the paging).
    pub fn with_page_size(mut self, items: i32) -> Self {
        self.page_size = Some(items);
        self
    }

    /// Creates the table as infra/template.yaml declares it (keys, the listing index, TTL), for tests and
    /// for running against an emulator; on AWS the stack creates it.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let key = |name: &str, key_type| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
                .map_err(StoreError::backend)
        };
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(StoreError::backend)
        };
        let index = GlobalSecondaryIndex::builder()
            .index_name(LISTING_INDEX)
            .key_schema(key("GSI1PK", KeyType::Hash)?)
            .key_schema(key("GSI1SK", KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(StoreError::backend)?;
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("PK", KeyType::Hash)?)
            .key_schema(key("SK", KeyType::Range)?)
            .attribute_definitions(attribute("PK")?)
            .attribute_definitions(attribute("SK")?)
            .attribute_definitions(attribute("GSI1PK")?)
            .attribute_definitions(attribute("GSI1SK")?)
            .global_secondary_indexes(index)
            .send()
            .await
            .map_err(sdk)?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(EXPIRES_AT)
                    .enabled(true)
                    .build()
                    .map_err(StoreError::backend)?,
            )
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        Ok(output.item)
    }

    /// Every item of a partition whose sort key starts with `prefix`, in sort key order, all pages.
    async fn query_prefix(&self, pk: &str, prefix: &str) -> Result<Vec<Item>, StoreError> {
        all_pages(|start| {
            let query = self.client.query().table_name(&self.table);
            // DynamoDB refuses an empty begins_with: no prefix is the whole partition.
            let query = if prefix.is_empty() {
                query.key_condition_expression("PK = :pk")
            } else {
                query
                    .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                    .expression_attribute_values(":prefix", s(prefix))
            };
            query
                .expression_attribute_values(":pk", s(pk))
                .consistent_read(true)
                .set_limit(self.page_size)
                .set_exclusive_start_key(start)
        })
        .await
    }

    /// Every item of a listing partition of the index, all pages.
    async fn query_listing(&self, gsi_pk: &str, forward: bool) -> Result<Vec<Item>, StoreError> {
        all_pages(|start| {
            self.client
                .query()
                .table_name(&self.table)
                .index_name(LISTING_INDEX)
                .key_condition_expression("GSI1PK = :pk")
                .expression_attribute_values(":pk", s(gsi_pk))
                .scan_index_forward(forward)
                .set_limit(self.page_size)
                .set_exclusive_start_key(start)
        })
        .await
    }

    /// Writes `item` if the stored item is as `expected`. A failed condition is `AlreadyExists` for a
    /// create and `Conflict` otherwise.
    async fn put_versioned(
        &self,
        item: Item,
        expected: Expect,
        what: impl Fn() -> String,
    ) -> Result<(), StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        put = match expected {
            Expect::Absent => put
                .condition_expression("attribute_not_exists(PK) OR #expires < :now")
                .expression_attribute_names("#expires", EXPIRES_AT)
                .expression_attribute_values(":now", n(now_seconds())),
            Expect::Version(version) => put
                .condition_expression("#version = :expected")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":expected", n(version)),
        };
        match put.send().await {
            Ok(_) => Ok(()),
            Err(error) if is_condition_failure(&error) => Err(if expected == Expect::Absent {
                StoreError::AlreadyExists { what: what() }
            } else {
                // The old item (ReturnValuesOnConditionCheckFailure) says whether it moved on or went.
                let stored = error
                    .as_service_error()
                    .and_then(|e| match e {
                        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => c.item.as_ref(),
                        _ => None,
                    })
                    .and_then(|item| number(item, "version"));
                StoreError::Conflict {
                    what: match stored {
                        Some(version) => format!("{} (now at version {version})", what()),
                        None => format!("{} (no longer stored)", what()),
                    },
                }
            }),
            Err(error) => Err(sdk(error)),
        }
    }

    /// The next number of the pipeline's counter: the order records were first written in.
    async fn next_seq(&self, pipeline: &str) -> Result<u64, StoreError> {
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(&pipeline_key(pipeline)))
            .key("SK", s("SEQ"))
            .update_expression("ADD #n :one")
            .expression_attribute_names("#n", "n")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(sdk)?;
        output
            .attributes
            .as_ref()
            .and_then(|item| number(item, "n"))
            .ok_or_else(|| backend_message("the sequence counter answered no number"))
    }

    /// Creates or replaces a record that keeps the order it was first written in (`seq`), and refreshes
    /// the copy at `latest_sk` unless a record first written later is there.
    async fn put_sequenced(
        &self,
        pipeline: &str,
        sk: String,
        latest_sk: String,
        record: String,
    ) -> Result<(), StoreError> {
        let pk = pipeline_key(pipeline);
        // Most writes replace a record (an attempt moving to Succeeded): one call when it exists.
        let replaced = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(&pk))
            .key("SK", s(&sk))
            .update_expression("SET #record = :record")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#record", "record")
            .expression_attribute_values(":record", s(&record))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let seq = match replaced {
            Ok(output) => output
                .attributes
                .as_ref()
                .and_then(|item| number(item, "seq"))
                .ok_or_else(|| backend_message("a sequenced record has no seq"))?,
            Err(error) if is_condition_failure(&error) => {
                let seq = self.next_seq(pipeline).await?;
                let created = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(Item::from([
                        ("PK".to_string(), s(&pk)),
                        ("SK".to_string(), s(&sk)),
                        ("record".to_string(), s(&record)),
                        ("seq".to_string(), n(seq)),
                    ])))
                    .condition_expression("attribute_not_exists(PK)")
                    .send()
                    .await;
                match created {
                    Ok(_) => seq,
                    // Another writer created it between the two calls: this write is the newer one.
                    Err(error) if is_condition_failure(&error) => {
                        return Box::pin(self.put_sequenced(pipeline, sk, latest_sk, record)).await;
                    }
                    Err(error) => return Err(sdk(error)),
                }
            }
            Err(error) => return Err(sdk(error)),
        };
        let latest = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Item::from([
                ("PK".to_string(), s(&pk)),
                ("SK".to_string(), s(&latest_sk)),
                ("record".to_string(), s(&record)),
                ("seq".to_string(), n(seq)),
            ])))
            .condition_expression("attribute_not_exists(PK) OR seq <= :seq")
            .expression_attribute_values(":seq", n(seq))
            .send()
            .await;
        match latest {
            // A record first written later holds the copy: it stays the latest.
            Ok(_) => Ok(()),
            Err(error) if is_condition_failure(&error) => Ok(()),
            Err(error) => Err(sdk(error)),
        }
    }

    /// Deletes items by key, 25 per call, until none is left unprocessed.
    async fn delete_keys(&self, keys: Vec<Item>) -> Result<(), StoreError> {
        for chunk in keys.chunks(BATCH) {
            let mut requests = chunk
                .iter()
                .map(|key| {
                    Ok(WriteRequest::builder()
                        .delete_request(
                            DeleteRequest::builder()
                                .set_key(Some(key.clone()))
                                .build()
                                .map_err(StoreError::backend)?,
                        )
                        .build())
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            let mut backoff = Duration::from_millis(50);
            while !requests.is_empty() {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(sdk)?;
                requests = output
                    .unprocessed_items
                    .and_then(|mut unprocessed| unprocessed.remove(&self.table))
                    .unwrap_or_default();
                if !requests.is_empty() {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
            }
        }
        Ok(())
    }
}

impl PipelineStore for DynamoStore {
    async fn pipeline(&self, name: &str) -> Result<Option<StoredPipeline>, StoreError> {
        self.get(&pipeline_key(name), "LATEST")
            .await?
            .map(|item| record(&item))
            .transpose()
    }

    async fn pipeline_version(
        &self,
        name: &str,
        version: i32,
    ) -> Result<Option<StoredPipeline>, StoreError> {
        self.get(&pipeline_key(name), &version_key(version))
            .await?
            .map(|item| record(&item))
            .transpose()
    }

    async fn put_pipeline(
        &self,
        pipeline: &StoredPipeline,
        expected_version: Option<i32>,
    ) -> Result<(), StoreError> {
        let name = &pipeline.declaration.name;
        let pk = pipeline_key(name);
        let json = to_json(pipeline)?;
        let version = u64::try_from(pipeline.version()).unwrap_or_default();
        let latest = {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(Item::from([
                    ("PK".to_string(), s(&pk)),
                    ("SK".to_string(), s("LATEST")),
                    ("GSI1PK".to_string(), s("PIPELINES")),
                    ("GSI1SK".to_string(), s(name)),
                    ("record".to_string(), s(&json)),
                    ("version".to_string(), n(version)),
                ])));
            match expected_version {
                None => put.condition_expression("attribute_not_exists(PK)"),
                Some(expected) => put
                    .condition_expression("#version = :expected")
                    .expression_attribute_names("#version", "version")
                    .expression_attribute_values(
                        ":expected",
                        n(u64::try_from(expected).unwrap_or_default()),
                    ),
            }
            .build()
            .map_err(StoreError::backend)?
        };
        let history = Put::builder()
            .table_name(&self.table)
            .set_item(Some(Item::from([
                ("PK".to_string(), s(&pk)),
                ("SK".to_string(), s(&version_key(pipeline.version()))),
                ("record".to_string(), s(&json)),
            ])))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(StoreError::backend)?;
        let written = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(latest).build())
            .transact_items(TransactWriteItem::builder().put(history).build())
            .send()
            .await;
        match written {
            Ok(_) => Ok(()),
            Err(error) if is_condition_failure(&error) => {
                let what = format!("pipeline {name}");
                Err(match expected_version {
                    None => StoreError::AlreadyExists { what },
                    Some(_) => StoreError::Conflict { what },
                })
            }
            Err(error) => Err(sdk(error)),
        }
    }

    async fn pipelines(&self) -> Result<Vec<std::sync::Arc<StoredPipeline>>, StoreError> {
        self.query_listing("PIPELINES", true)
            .await?
            .iter()
            .map(|item| record(item).map(std::sync::Arc::new))
            .collect()
    }

    async fn delete_pipeline(&self, name: &str) -> Result<(), StoreError> {
        // Only the keys are read: a pipeline's history can be large, and none of it is needed to delete it.
        let pk = pipeline_key(name);
        let keys = all_pages(|start| {
            self.client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", s(&pk))
                .projection_expression("PK, SK")
                .consistent_read(true)
                .set_limit(self.page_size)
                .set_exclusive_start_key(start)
        })
        .await?;
        self.delete_keys(keys).await
    }
}

impl ExecutionStore for DynamoStore {
    async fn create_execution(&self, execution: &PipelineExecution) -> Result<(), StoreError> {
        let item = execution_item(execution)?;
        self.put_versioned(item, Expect::Absent, || {
            format!("pipeline execution {}", execution.pipeline_execution_id)
        })
        .await
    }

    async fn execution(
        &self,
        pipeline: &str,
        execution_id: &str,
    ) -> Result<Option<PipelineExecution>, StoreError> {
        self.get(&pipeline_key(pipeline), &format!("E#{execution_id}"))
            .await?
            .map(|item| record(&item))
            .transpose()
    }

    async fn update_execution(&self, execution: &PipelineExecution) -> Result<(), StoreError> {
        let next = PipelineExecution {
            record_version: execution.record_version + 1,
            ..execution.clone()
        };
        // A created execution is at version 0: an update expects that version, not absence.
        let expected = Expect::Version(execution.record_version);
        self.put_versioned(execution_item(&next)?, expected, || {
            format!("pipeline execution {}", execution.pipeline_execution_id)
        })
        .await
    }

    async fn executions(&self, pipeline: &str) -> Result<Vec<PipelineExecution>, StoreError> {
        self.query_listing(&format!("E#{pipeline}"), false)
            .await?
            .iter()
            .map(record)
            .collect()
    }
}

impl StageStore for DynamoStore {
    async fn gate(&self, pipeline: &str, stage: &str) -> Result<(Gate, u64), StoreError> {
        match self
            .get(&pipeline_key(pipeline), &format!("G#{stage}"))
            .await?
        {
            Some(item) => Ok((record(&item)?, number(&item, "version").unwrap_or(0))),
            None => Ok((Gate::default(), 0)),
        }
    }

    async fn put_gate(
        &self,
        pipeline: &str,
        stage: &str,
        gate: &Gate,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let item = Item::from([
            ("PK".to_string(), s(&pipeline_key(pipeline))),
            ("SK".to_string(), s(&format!("G#{stage}"))),
            ("record".to_string(), s(&to_json(gate)?)),
            ("version".to_string(), n(expected_version + 1)),
        ]);
        let what = || format!("the gate of stage {stage} of pipeline {pipeline}");
        match self
            .put_versioned(item, Expect::from_version(expected_version), what)
            .await
        {
            // Two first writers of a gate: the second one conflicts, as with any stale version.
            Err(StoreError::AlreadyExists { what }) => Err(StoreError::Conflict { what }),
            other => other,
        }
    }

    async fn put_stage_execution(&self, stage: &StageExecution) -> Result<(), StoreError> {
        self.put_sequenced(
            &stage.pipeline_name,
            format!("S#{}#{}", stage.pipeline_execution_id, stage.stage_name),
            format!("SL#{}", stage.stage_name),
            to_json(stage)?,
        )
        .await
    }

    async fn stage_executions(
        &self,
        pipeline: &str,
        execution_id: &str,
    ) -> Result<Vec<StageExecution>, StoreError> {
        self.query_prefix(&pipeline_key(pipeline), &format!("S#{execution_id}#"))
            .await?
            .iter()
            .map(record)
            .collect()
    }

    async fn latest_stage_executions(
        &self,
        pipeline: &str,
    ) -> Result<Vec<StageExecution>, StoreError> {
        sequenced(self.query_prefix(&pipeline_key(pipeline), "SL#").await?)
    }
}

impl ActionExecutionStore for DynamoStore {
    async fn put_action_execution(&self, action: &ActionExecution) -> Result<(), StoreError> {
        self.put_sequenced(
            &action.pipeline_name,
            format!(
                "A#{}#{}",
                action.pipeline_execution_id, action.action_execution_id
            ),
            format!("AL#{}#{}", action.stage_name, action.action_name),
            to_json(action)?,
        )
        .await
    }

    async fn action_executions(
        &self,
        pipeline: &str,
        execution_id: Option<&str>,
    ) -> Result<Vec<ActionExecution>, StoreError> {
        let prefix = match execution_id {
            Some(execution_id) => format!("A#{execution_id}#"),
            None => "A#".to_string(),
        };
        sequenced(self.query_prefix(&pipeline_key(pipeline), &prefix).await?)
    }

    async fn latest_action_executions(
        &self,
        pipeline: &str,
    ) -> Result<Vec<ActionExecution>, StoreError> {
        sequenced(self.query_prefix(&pipeline_key(pipeline), "AL#").await?)
    }
}

impl ResourceStore for DynamoStore {
    async fn resource(&self, kind: &str, id: &str) -> Result<Option<(Value, u64)>, StoreError> {
        let Some(item) = self.get(&resource_key(kind), id).await? else {
            return Ok(None);
        };
        // DynamoDB removes expired items up to days later: until then they read as gone.
        if number(&item, EXPIRES_AT).is_some_and(|at| at < now_seconds()) {
            return Ok(None);
        }
        Ok(Some((
            record(&item)?,
            number(&item, "version").unwrap_or(1),
        )))
    }

    async fn put_resource(
        &self,
        kind: &str,
        id: &str,
        document: &Value,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let mut item = Item::from([
            ("PK".to_string(), s(&resource_key(kind))),
            ("SK".to_string(), s(id)),
            ("record".to_string(), s(&to_json(document)?)),
            ("version".to_string(), n(expected_version + 1)),
        ]);
        if let Some((_, keep)) = DEDUPE_KINDS.iter().find(|(k, _)| *k == kind) {
            item.insert(EXPIRES_AT.to_string(), n(now_seconds() + keep.as_secs()));
        }
        self.put_versioned(item, Expect::from_version(expected_version), || {
            format!("{kind} {id}")
        })
        .await
    }

    async fn resources(&self, kind: &str) -> Result<Vec<(String, Value)>, StoreError> {
        let now = now_seconds();
        self.query_prefix(&resource_key(kind), "")
            .await?
            .iter()
            .filter(|item| number(item, EXPIRES_AT).is_none_or(|at| at >= now))
            .map(|item| Ok((string(item, "SK")?.to_string(), record(item)?)))
            .collect()
    }

    async fn delete_resource(&self, kind: &str, id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(&resource_key(kind)))
            .key("SK", s(id))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }
}

/// Runs a query page after page (each from the last page's `LastEvaluatedKey`) and returns every item.
async fn all_pages(
    query: impl Fn(Option<Item>) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
) -> Result<Vec<Item>, StoreError> {
    let mut items = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let output = query(start.take()).send().await.map_err(sdk)?;
        items.extend(output.items.unwrap_or_default());
        match output.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(items),
        }
    }
}

fn pipeline_key(name: &str) -> String {
    format!("P#{name}")
}

fn resource_key(kind: &str) -> String {
    format!("R#{kind}")
}

fn version_key(version: i32) -> String {
    format!("V#{version:010}")
}

fn execution_item(execution: &PipelineExecution) -> Result<Item, StoreError> {
    let pipeline = &execution.pipeline_name;
    let id = &execution.pipeline_execution_id;
    let started = u64::try_from(execution.start_time.epoch_millis()).unwrap_or_default();
    Ok(Item::from([
        ("PK".to_string(), s(&pipeline_key(pipeline))),
        ("SK".to_string(), s(&format!("E#{id}"))),
        ("GSI1PK".to_string(), s(&format!("E#{pipeline}"))),
        ("GSI1SK".to_string(), s(&format!("{started:020}#{id}"))),
        ("record".to_string(), s(&to_json(execution)?)),
        ("version".to_string(), n(execution.record_version)),
    ]))
}

/// The records of sequenced items, in the order they were first written.
fn sequenced<T: DeserializeOwned>(mut items: Vec<Item>) -> Result<Vec<T>, StoreError> {
    items.sort_by_key(|item| number(item, "seq").unwrap_or(0));
    items.iter().map(record).collect()
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn number(item: &Item, attribute: &str) -> Option<u64> {
    match item.get(attribute) {
        Some(AttributeValue::N(value)) => value.parse().ok(),
        _ => None,
    }
}

fn string<'a>(item: &'a Item, attribute: &str) -> Result<&'a str, StoreError> {
    match item.get(attribute) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(backend_message(&format!(
            "an item has no string attribute {attribute}"
        ))),
    }
}

fn record<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    serde_json::from_str(string(item, "record")?).map_err(StoreError::backend)
}

fn to_json(value: &impl Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(StoreError::backend)
}

fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

fn backend_message(message: &str) -> StoreError {
    StoreError::Backend {
        message: message.to_string(),
        source: None,
    }
}

/// Whether a call failed only because its condition did not hold (ConditionalCheckFailedException, or a
/// transaction cancelled for that reason).
fn is_condition_failure<E, R>(error: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    match crate::error::code(error) {
        Some("ConditionalCheckFailedException") => true,
        Some("TransactionCanceledException") => error
            .as_service_error()
            .and_then(|e| e.message())
            .is_some_and(|message| message.contains("ConditionalCheckFailed")),
        _ => false,
    }
}

/// The error codes of a DynamoDB call that may pass when made again: throttling (of the table, the
/// account or the service), DynamoDB's own failures, and a write refused because a transaction held the
/// item at that moment (a race, not a broken condition).
const TRANSIENT_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
    "TransactionInProgressException",
];

/// The cancellation reasons of a TransactWriteItems call (`[None, TransactionConflict]` in its message)
/// that make it worth making again.
const TRANSIENT_CANCELLATIONS: &[&str] = &[
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
];

/// Whether an SDK failure is one a later call may not meet: the service throttled or failed (after the
/// SDK's own retries), the call timed out, the request could not be sent or its answer not read.
/// A request the SDK could not even build, or a call refused for its content or permissions, is not.
fn is_transient<E>(error: &SdkError<E, HttpResponse>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    match error {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        SdkError::DispatchFailure(failure) => !failure.is_user(),
        SdkError::ServiceError(failure) => {
            let code = failure.err().code();
            code.is_some_and(|code| TRANSIENT_CODES.contains(&code))
                || (code == Some("TransactionCanceledException")
                    && failure.err().message().is_some_and(|message| {
                        TRANSIENT_CANCELLATIONS
                            .iter()
                            .any(|reason| message.contains(reason))
                    }))
                || failure.raw().status().is_server_error()
        }
        _ => false,
    }
}

/// Any other SDK failure: transient when [`is_transient`] says so, else the store failed. The error itself
/// stays the source.
fn sdk<E>(error: SdkError<E, HttpResponse>) -> StoreError
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + Send + Sync + 'static,
{
    let message = crate::error::describe("DynamoDB", &error);
    if is_transient(&error) {
        StoreError::Transient {
            message,
            source: Some(Box::new(error)),
        }
    } else {
        StoreError::Backend {
            message,
            source: Some(Box::new(error)),
        }
    }
}
