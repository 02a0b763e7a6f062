@faults
Feature: Faults on what pspsim sends
  Notifications, webhooks and Genstore's requests to apps get lost, come
  late, twice, out of order, contradict each other or arrive forged. A
  receiver stands in for the app; test messages go through the same
  machinery as the systems' own.

  Background:
    Given a receiver "app"
    And test messages are retried after "30s, 2m"

  Scenario: A lost notification arrives with the retry
    Given codepay "notification" messages are dropped once
    When codepay sends a "notification" test message to the receiver "app" with JSON:
      """
      {"orderNo": "A1", "status": "SUCCESS", "order_amount": 10.00}
      """
    Then the receiver "app" got nothing
    When the clock advances by "30s"
    Then the receiver "app" got 1 request
    And the journal shows these kinds in this order:
      | fault.fired.drop   |
      | delivery.attempt   |
      | delivery.scheduled |
      | delivery.attempt   |
      | delivery.delivered |
    And the journal has an event of kind "delivery.delivered" at "2026-11-22T10:00:30Z"

  Scenario: A late notification leaves when the clock says
    Given codepay "notification" messages are delayed by "90s"
    When codepay sends a "notification" test message to the receiver "app" with JSON:
      """
      {"orderNo": "A1", "status": "SUCCESS", "order_amount": 10.00}
      """
    And the clock advances by "89s"
    Then the receiver "app" got nothing
    When the clock advances by "1s"
    Then the receiver "app" got 1 request
    And the journal has an event of kind "delivery.delivered" about "A1"

  Scenario Outline: The same message twice
    Given genstore "payment" messages are <how>
    When genstore sends a "payment" test message to the receiver "app" with JSON:
      """
      {"paymentId": "PI1", "amount": "10.00", "test": true}
      """
    Then the receiver "app" got 2 requests
    And the receiver "app" got identical requests

    Examples:
      | how                     |
      | duplicated              |
      | duplicated concurrently |

  Scenario: Two notifications arrive in the wrong order
    Given codepay "notification" messages are reordered with the next one once
    When codepay sends a "notification" test message to the receiver "app" with JSON:
      """
      {"orderNo": "A1", "status": "SUCCESS", "order_amount": 10.00}
      """
    Then the receiver "app" got nothing
    When codepay sends a "notification" test message to the receiver "app" with JSON:
      """
      {"orderNo": "A2", "status": "SUCCESS", "order_amount": 12.00}
      """
    Then the receiver "app" got the JSON field "orderNo" in this order: "A2, A1"

  Scenario: Success, then failure, for one order
    Given test messages are contradicted by:
      """
      {"status": "FAILED"}
      """
    And codepay "notification" messages are contradicted
    When codepay sends a "notification" test message to the receiver "app" with JSON:
      """
      {"orderNo": "A1", "status": "SUCCESS", "order_amount": 10.00}
      """
    Then the receiver "app" got the JSON field "status" in this order: "SUCCESS, FAILED"
    And the receiver "app" request 1 has a valid signature
    And the receiver "app" request 2 has a valid signature

  Scenario: A forged webhook is refused, the genuine retry accepted
    Given test messages are signed with the secret "whsec_demo"
    And the receiver "app" answers 401 the first 1 time
    And vmgateway "webhook" messages are sent with a tampered signature once
    When vmgateway sends a "webhook" test message to the receiver "app" at "/hooks/vm" with JSON:
      """
      {"orderNo": "A1", "status": "CAPTURED", "amount": "10.00"}
      """
    And the clock advances by "30s"
    Then the receiver "app" got 2 requests
    And the receiver "app" request 1 has an invalid signature
    And the receiver "app" request 2 has a valid signature
