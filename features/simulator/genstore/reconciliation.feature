Feature: Reconciliation, deadlines and expiry
  If no callback has come, Genstore asks the app's query endpoint 5 min,
  30 min, 2 h and 24 h after the acknowledgement and applies a final answer.
  An unanswered payment expires after 24 h.

  Background:
    Given a Genstore shop "7001" in test mode with a fee of 290 basis points plus 30
    And a payment app "my-app" is registered with Genstore
    And the app "my-app" is installed on shop "7001"

  Scenario: A lost callback is recovered by the query endpoint
    When a buyer pays "10.00" with card "4000123456000019"
    And the app answers queries about the payment with "SUCCESS"
    And the clock advances by "5m"
    Then the app received 1 payment_query request
    And the payment has status "2"
    And the journal has an event of kind "payment.reconciliation"

  Scenario: A refund is reconciled through the refund query endpoint
    When a buyer pays "10.00" with card "4000123456000019"
    And the app reports the payment as succeeded
    And the merchant refunds "4.00"
    And the app answers queries about the refund with "FAILURE"
    And the clock advances by "5m"
    Then the app received 1 refund_query request
    And the refund is failed

  Scenario: A late result is journaled, and an unanswered payment expires after 24 hours
    When a buyer pays "10.00" with card "4000123456000019"
    And the clock advances by "31s"
    Then the journal has 1 event of kind "payment.deadline_missed"
    When the clock advances by "24h"
    Then the payment has status "9"
    And the app received 4 payment_query requests
    And the journal has 1 event of kind "payment.expired"
    When the app reports the payment as succeeded
    Then the response status is 409
