//! An SQS queue on moto_server: where the SNS and EventBridge suites read what was delivered (test code
//! only; Sluice itself has no SQS adapter). Kept apart from `common`, which shared/lambda's suite includes
//! without the SQS crate.

use aws_sdk_sqs::types::QueueAttributeName;

use sluice_aws::config::AwsConfig;

pub(crate) struct TestQueue {
    pub(crate) sqs: aws_sdk_sqs::Client,
    pub(crate) url: String,
    /// What a subscription or a rule target names.
    pub(crate) arn: String,
}

impl TestQueue {
    pub(crate) async fn create(config: &AwsConfig, name: &str) -> TestQueue {
        let sqs = aws_sdk_sqs::Client::new(&config.sdk);
        let url = sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&QueueAttributeName::QueueArn]
            .clone();
        TestQueue { sqs, url, arn }
    }

    /// Up to 10 messages' bodies in the order they arrived, waiting up to `wait_seconds` for the first;
    /// what is read is deleted.
    pub(crate) async fn take(&self, wait_seconds: i32) -> Vec<String> {
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait_seconds)
            .send()
            .await
            .unwrap();
        let mut bodies = Vec::new();
        for message in received.messages() {
            bodies.push(message.body().unwrap().to_string());
            self.sqs
                .delete_message()
                .queue_url(&self.url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        bodies
    }
}
