Feature: Webhook deliveries and their retries
  Every payment and refund status change is posted, signed with the subscription's secret
  (HMAC-SHA256 over timestamp.body), to every webhook subscription. A receiver that does not
  answer 2xx gets the same event again after 30 s, 1, 2, 4 ... 256 minutes, on the clock.

  Background:
    Given I have a card gateway access token for "sandbox"

  Scenario: A failing receiver gets retries on the schedule, then the event is delivered
    Given a webhook sink answering 500 is subscribed
    When I pay "12.00" USD with the card "4000123456000019" as order "H0000001"
    Then the webhook sink has received 1 delivery
    When the clock advances by "29s"
    Then the webhook sink has received 1 delivery
    When the clock advances by "1s"
    Then the webhook sink has received 2 deliveries
    When the clock advances by "1m"
    Then the webhook sink has received 3 deliveries
    When the webhook sink answers 200 from now on
    And the clock advances by "2m"
    Then the webhook sink has received 4 deliveries
    And every delivery to the webhook sink is the same event, signed with the subscription's secret
    And the last delivery to the webhook sink says "data.status" is "CAPTURED"
    And the last delivery to the webhook sink says "data.orderNo" is "H0000001"
    And the journal has 4 events of kind "delivery.attempt"
    And the journal has 1 event of kind "delivery.delivered"
    When the clock advances by "24h"
    Then the webhook sink has received 4 deliveries

  Scenario: Each copy of a duplicated webhook counts as a delivery at the sink
    Given a webhook sink answering 200 is subscribed
    And vmgateway "webhook" messages are duplicated once
    When I pay "12.00" USD with the card "4000123456000019" as order "H0000009"
    Then the webhook sink has received 2 deliveries
    And every delivery to the webhook sink is the same event, signed with the subscription's secret
    And the journal has 1 event of kind "delivery.attempt"

  Scenario: A late notification (TESTCARDS.md 12) arrives 60 s after the payment
    Given a webhook sink answering 200 is subscribed
    When I pay "12.00" USD with the card "4000123456000126" as order "H0000002"
    And the clock advances by "59s"
    Then the webhook sink has received 0 deliveries
    When the clock advances by "1s"
    Then the webhook sink has received 1 delivery
    And the last delivery to the webhook sink says "data.status" is "CAPTURED"

  Scenario: Wallet payments are announced when the buyer answers
    Given a webhook sink answering 200 is subscribed
    When I pay "88.00" SGD with wechat "qr-code" as order "H0000003"
    Then the JSON field "nextAction.type" is "qr_code"
    And the webhook sink has received 1 delivery
    When the buyer approves the wallet payment of order "H0000003"
    Then the webhook sink has received 2 deliveries
    And the last delivery to the webhook sink says "data.status" is "CAPTURED"
