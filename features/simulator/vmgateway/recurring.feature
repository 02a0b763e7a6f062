Feature: Recurring (merchant-initiated) payments
  A customer-initiated payment that stores the card (billing.storedcredentials store) returns a
  transactionIdentifier. Later merchant-initiated payments present it; they are never
  challenged, and a wrong identifier is refused.

  Background:
    Given I have a card gateway access token for "sandbox"

  Scenario: A subscription: the first payment stores the card, the next ones are recurring
    When I pay "9.99" USD with the card "4000123456000068" as order "R0000001" with "storedcredentials=store, customerInitiatedReason=RECURRING, threeDsMode=standard"
    And the buyer opens the 3-D Secure challenge
    And the buyer enters the code "123456" on the challenge page
    And I inquire the payment of order "R0000001"
    Then the JSON field "status" is "CAPTURED"
    And I remember the JSON field "transactionIdentifier" as "identifier"
    When I make a "RECURRING" token payment of "9.99" as order "R0000002" with the transaction identifier "{identifier}"
    Then the response status is 200
    And the JSON field "status" is "CAPTURED"
    And the JSON field "threeDs.flow" is "not_requested"
    And the JSON field "maskedCardNo" is "400012******0068"
    And the JSON field "transactionIdentifier" is "{identifier}"
    And the journal has an event of kind "credential.stored"

  Scenario: A recurring payment with an identifier that was never issued is refused
    When I make a "RECURRING" token payment of "9.99" as order "R0000003" with the transaction identifier "123456789012345"
    Then the response status is 422
    And the JSON field "code" is "INVALID_TRANSACTION_IDENTIFIER"
    And the JSON field "field" is "transactionIdentifier"

  Scenario: The series keeps its plan
    When I pay "30.00" USD with the card "5100123456000015" as order "R0000004" with "storedcredentials=store, customerInitiatedReason=INSTALMENT"
    And I remember the JSON field "transactionIdentifier" as "identifier"
    And I make a "UNSCHEDULED" token payment of "30.00" as order "R0000005" with the transaction identifier "{identifier}"
    Then the response status is 422
    When I make a "INSTALMENT" token payment of "30.00" as order "R0000006" with the transaction identifier "{identifier}"
    Then the response status is 200
    And the JSON field "status" is "CAPTURED"
