@testmode
Feature: Test mode routing (CONTRACT.md §6)
  "test": true must be processed with the PSP's sandbox credentials, "test": false never with
  them. Each PSP keeps both environments apart and records which credentials each operation
  used (CodePay: which key signed): the suite judges from its records.

  Scenario: A test-mode payment is charged in the PSP's sandbox
    Requires docs/CONTRACT.md §6 ("test": true with the sandbox credentials).

    Given the app is installed on the shop
    When a buyer pays "18.10" with the Visa test card 00
    Then Genstore records the payment as successful, reported by "payment/"
    And the PSP processed every operation of this scenario in its sandbox

  Scenario: A live payment is never charged in the PSP's sandbox
    Requires docs/CONTRACT.md §6 ("test": false never with them).

    Given the shop is in live mode
    And the app is installed on the shop
    When a buyer pays "18.20" with the Visa test card 00
    Then Genstore records the payment as successful, reported by "payment/"
    And the PSP processed every operation of this scenario in its live environment

  @refund
  Scenario: A test-mode refund goes to the PSP's sandbox
    Requires docs/CONTRACT.md §6 (every operation on a payment goes to the payment's environment).

    Given the app is installed on the shop
    And a buyer has paid "18.30" with the Visa test card 00
    When the merchant refunds "8.30"
    And the PSP settles its refunds
    Then Genstore records the refund as successful
    And the PSP processed every operation of this scenario in its sandbox

  @capture
  Scenario: A live authorization is captured in the live environment
    Requires docs/CONTRACT.md §6.

    Given the shop is in live mode
    And the app is installed on the shop
    When a buyer pays "18.40" with the Visa test card 00 to be captured later
    Then Genstore records the payment as authorized, reported by "pre_authorize/"
    When the merchant captures the payment
    Then Genstore records the capture as successful
    And the PSP processed every operation of this scenario in its live environment
