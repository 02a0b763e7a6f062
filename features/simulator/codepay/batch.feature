Feature: CodePay card batches
  Each terminal keeps an open batch of its offline (card-present) transactions.
  Closing it hands them to settlement: from then on a transaction can still be
  refunded, but no longer voided or tip-adjusted.

  Background:
    Given CodePay calls come from app "wz9f2a175d0e0ef632" for merchant "302100041048"

  Scenario: A refund after the batch closed is refused as a void but accepted as a refund
    Given order "B1" for 25.00 USD is pushed to terminal "WPYB001234567890"
    And the buyer presents card "4000123456000001" on terminal "WPYB001234567890"
    And order "B2" for 18.00 USD is pushed to terminal "WPYB001234567890"
    And the buyer presents card "5100123456000007" on terminal "WPYB001234567890"
    Then the open batch of terminal "WPYB001234567890" holds 2 transactions totalling "43.00"
    When I call CodePay "batch.close" with:
      """
      {"terminal_sn": "WPYB001234567890"}
      """
    Then the CodePay answer code is "0"
    And the JSON field "data.count" is "2"
    And the JSON field "data.total_amount" is "43.00"
    And the open batch of terminal "WPYB001234567890" holds 0 transactions totalling "0"
    When I call CodePay "wisehub.cloud.pay.order" with:
      """
      {"terminal_sn": "WPYB001234567890", "message_receiving_application": "CodePay Register", "price_currency": "USD",
       "order_amount": 25.00, "trans_type": 2, "merchant_order_no": "B1V", "orig_merchant_order_no": "B1",
       "description": "void", "expires": 600, "api_version": "2.0"}
      """
    Then the CodePay answer code is "40009"
    And the JSON field "msg" contains "only refunded"
    When I call CodePay "tip.adjustment" with:
      """
      {"merchant_order_no": "B1", "tip_adjustment_amount": 2.00}
      """
    Then the CodePay answer code is "40009"
    When I call CodePay "order.refund.submit" with:
      """
      {"orig_merchant_order_no": "B1", "merchant_order_no": "B1R", "price_currency": "USD", "order_amount": 25.00,
       "description": "returned goods"}
      """
    Then the CodePay answer code is "0"
    And CodePay order "B1" has refunded_amount "25.00"
    And CodePay order "B1R" has trans_status "2"
    And the open batch of terminal "WPYB001234567890" holds 1 transaction totalling "-25.00"

  Scenario: A void before the close reverses the sale and leaves the batch
    Given order "V1" for 30.00 USD is pushed to terminal "WPYB001234567891"
    And the buyer presents card "4000123456000001" on terminal "WPYB001234567891"
    And order "V1X" for 30.00 USD is pushed to terminal "WPYB001234567891" with:
      """
      {"trans_type": 2, "orig_merchant_order_no": "V1", "required_terminal_authentication": true}
      """
    Then terminal "WPYB001234567891" shows order "V1X" on the "approval" screen
    When the store manager approves on terminal "WPYB001234567891"
    Then CodePay order "V1X" has trans_status "2"
    And CodePay order "V1" has trans_status "3"
    And the open batch of terminal "WPYB001234567891" holds 0 transactions totalling "0"

  Scenario: Tips are adjusted while the batch is open
    Given order "T1" for 50.00 USD is pushed to terminal "WPYB001234567890"
    And the buyer presents card "4000123456000001" on terminal "WPYB001234567890"
    When I call CodePay "tip.adjustment" with:
      """
      {"merchant_order_no": "T1", "tip_adjustment_amount": 7.50}
      """
    Then the CodePay answer code is "0"
    And CodePay order "T1" has tip_amount "7.50"
    And the open batch of terminal "WPYB001234567890" holds 1 transaction totalling "57.50"
    When I call the CodePay card API "batch/close" with:
      """
      {"merchant_no": "302100041048", "store_no": "4021000008"}
      """
    Then the CodePay answer code is "0"
    And the JSON field "data.count" is "1"
    And the JSON field "data.total_amount" is "57.50"
    When I call the CodePay card API "tip-adjustment" with:
      """
      {"trans_no": "{T1.trans_no}", "tip_amount": 9.00}
      """
    Then the CodePay answer code is "40009"
