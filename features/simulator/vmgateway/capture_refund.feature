Feature: Manual capture, then partial refunds
  A merchant authorizes with captureMethod manual, captures part of the authorization once,
  and refunds part of what it captured. Refunds are PENDING until the processor settles them
  (5 s later on the clock); refundNumber is the idempotency key.

  Background:
    Given I have a card gateway access token for "sandbox"

  Scenario: Authorize, capture in part, refund in part, then the rest
    When I pay "100.00" USD with the card "4000123456000019" as order "M0000001" with "captureMethod=manual"
    Then the JSON field "status" is "AUTHORIZED"
    And the JSON field "authorizedAmount" is "100.00"
    When I capture "80.00" of order "M0000001"
    Then the response status is 200
    And the JSON field "status" is "CAPTURED"
    And the JSON field "capturedAmount" is "80.00"
    When I capture "20.00" of order "M0000001"
    Then the response status is 409
    And the JSON field "code" is "STATUS_CONFLICT"
    When I refund "30.00" of order "M0000001" as refund "RF0000001"
    Then the response status is 200
    And the JSON field "status" is "PENDING"
    When I refund "30.00" of order "M0000001" as refund "RF0000001"
    Then the JSON field "refundId" is "{refundId}"
    When I refund "31.00" of order "M0000001" as refund "RF0000001"
    Then the response status is 409
    And the JSON field "code" is "REFUND_NUMBER_CONFLICT"
    When I refund "50.01" of order "M0000001" as refund "RF0000002"
    Then the response status is 422
    And the JSON field "code" is "AMOUNT_EXCEEDED"
    When the clock advances by "5s"
    Then the payment of order "M0000001" is "PARTIALLY_REFUNDED"
    And the JSON field "refundedAmount" is "30.00"
    When I refund "50.00" of order "M0000001" as refund "RF0000002"
    And the clock advances by "5s"
    Then the payment of order "M0000001" is "REFUNDED"
    And the journal has 4 events of kind "refund.status_changed"

  Scenario: Capturing more than authorized is refused
    When I pay "10.00" EUR with the card "5100123456000015" as order "M0000002" with "captureMethod=manual"
    And I capture "10.01" of order "M0000002"
    Then the response status is 422
    And the JSON field "code" is "AMOUNT_EXCEEDED"
    And the JSON field "field" is "captureAmount"

  Scenario: An uncaptured authorization is cancelled, or released after 7 days
    When I pay "10.00" USD with the card "4000123456000019" as order "M0000003" with "captureMethod=manual"
    And I cancel the payment of order "M0000003"
    Then the JSON field "status" is "CANCELLED"
    When I pay "10.00" USD with the card "4000123456000019" as order "M0000004" with "captureMethod=manual"
    And the clock advances by "168h"
    And I have a card gateway access token for "sandbox"
    Then the payment of order "M0000004" is "EXPIRED"
