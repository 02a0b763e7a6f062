Feature: Genstore retries requests the app did not acknowledge
  A 5xx, 408, 429, no answer within 10 s or a broken connection is retried
  with the same body: payments after 1 s, 3 s and 10 s, then the payment
  fails; captures, voids and refunds after 30 s, 2 min, 10 min, ... up to
  48 h. Any other 4xx is final. Every attempt is signed afresh.

  Background:
    Given a Genstore shop "7001" in test mode with a fee of 290 basis points plus 30
    And a payment app "my-app" is registered with Genstore
    And the app "my-app" is installed on shop "7001"

  Scenario: A payment is retried on schedule with identical bodies
    Given the app answers payment requests with HTTP 503 the first 3 times
    When a buyer pays "10.00" with card "4000123456000019"
    And the clock advances by "14s"
    Then the app received 4 payment requests
    And the payment requests came at "0s, 1s, 4s, 14s"
    And every payment request carried the same body and Idempotency-Key
    And every request the app received was correctly signed
    And the journal has 4 events of kind "delivery.attempt"

  Scenario: A payment the app never acknowledges fails after the last retry
    Given the app answers payment requests with HTTP 500
    When a buyer pays "10.00" with card "4000123456000019"
    And the clock advances by "1m"
    Then the app received 4 payment requests
    And the payment has status "9"
    When the app reports the payment as succeeded
    Then the response status is 409

  Scenario: A 4xx other than 408 and 429 is final
    Given the app answers payment requests with HTTP 400
    When a buyer pays "10.00" with card "4000123456000019"
    And the clock advances by "1h"
    Then the app received 1 payment request
    And the payment has status "9"

  Scenario: A capture is retried for up to 48 hours
    Given the app answers capture requests with HTTP 502
    When a buyer pays "10.00" with card "4000123456000019" to be captured later
    And the app reports the payment as succeeded
    And the merchant captures the payment
    And the clock advances by "48h"
    Then the app received 13 capture requests
    And the capture requests came at "0s, 30s, 2m30s, 12m30s, 42m30s, 1h42m30s, 3h42m30s, 7h42m30s, 15h42m30s, 23h42m30s, 31h42m30s, 39h42m30s, 47h42m30s"
    And the capture is failed
    And the payment has status "4"
