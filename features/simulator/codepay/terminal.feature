Feature: CodePay virtual POS terminals
  A merchant's backend pushes orders to a CodePay Register terminal with
  wisehub.cloud.pay.order; the cashier and the buyer finish them on the
  terminal. QA drives the terminal through the control API (or its page at
  /codepay/terminals/{sn}) and checks the order through the signed gateway API.

  Background:
    Given CodePay calls come from app "wz9f2a175d0e0ef632" for merchant "302100041048"

  Scenario: A sale with an on-screen tip and a signature
    Given order "SALE1" for 40.00 USD is pushed to terminal "WPYB001234567890" with:
      """
      {"confirm_on_terminal": true, "on_screen_tip": true, "on_screen_signature": true, "receipt_print_mode": 3}
      """
    Then the CodePay answer code is "0"
    And the JSON field "data.terminal_online_status" is "online"
    And terminal "WPYB001234567890" shows order "SALE1" on the "confirm" screen
    When the cashier confirms on terminal "WPYB001234567890"
    Then terminal "WPYB001234567890" shows order "SALE1" on the "tip" screen
    When the buyer enters a tip of "6.00" on terminal "WPYB001234567890"
    And the buyer presents card "4000123456000001" on terminal "WPYB001234567890"
    Then terminal "WPYB001234567890" shows order "SALE1" on the "signature" screen
    And CodePay order "SALE1" has trans_status "0"
    When the buyer signs on terminal "WPYB001234567890"
    Then CodePay order "SALE1" has trans_status "2"
    And CodePay order "SALE1" has trans_amount "46.00"
    And CodePay order "SALE1" has pay_user_account_id "400012******0001"
    And terminal "WPYB001234567890" shows no order
    And the journal has 2 events of kind "terminal.receipt_printed"
    And the journal does not contain "4000123456000001"

  Scenario: A declined card fails the order and the terminal moves on
    Given order "DECL1" for 12.00 USD is pushed to terminal "WPYB001234567890"
    And order "NEXT1" for 3.00 USD is pushed to terminal "WPYB001234567890"
    When the buyer presents card "4000123456000209" on terminal "WPYB001234567890"
    Then CodePay order "DECL1" has trans_status "1"
    And CodePay order "DECL1" has resp_code "51"
    And terminal "WPYB001234567890" shows order "NEXT1" on the "payment" screen

  Scenario: An offline terminal rejects orders that ask for it and queues the others
    Given terminal "WPYB001234567890" goes offline
    When I call CodePay "wisehub.cloud.pay.order" with:
      """
      {"terminal_sn": "WPYB001234567890", "message_receiving_application": "CodePay Register", "price_currency": "USD",
       "order_amount": 9.99, "trans_type": 1, "merchant_order_no": "OFF1", "description": "coffee", "expires": 600,
       "api_version": "2.0", "reject_trade_when_terminal_offline": true}
      """
    Then the CodePay answer code is "40010"
    And the JSON field "msg" contains "terminal_sn"
    Given order "OFF2" for 9.99 USD is pushed to terminal "WPYB001234567890"
    Then the JSON field "data.terminal_online_status" is "offline"
    And terminal "WPYB001234567890" shows no order
    And terminal "WPYB001234567890" queues "OFF2"
    When terminal "WPYB001234567890" goes online
    Then terminal "WPYB001234567890" shows order "OFF2" on the "payment" screen
    When the buyer presents card "5100123456000007" on terminal "WPYB001234567890"
    Then CodePay order "OFF2" has trans_status "2"

  Scenario: The merchant closes an order before the terminal picks it up
    Given terminal "WPYB001234567890" goes offline
    And order "CLOSE1" for 15.00 USD is pushed to terminal "WPYB001234567890"
    When I call CodePay "wisehub.cloud.pay.close" with:
      """
      {"terminal_sn": "WPYB001234567890", "merchant_order_no": "CLOSE1", "message_receiving_application": "CodePay Register",
       "description": "customer left"}
      """
    Then the CodePay answer code is "0"
    And CodePay order "CLOSE1" has trans_status "3"
    And terminal "WPYB001234567890" queues ""
    When terminal "WPYB001234567890" goes online
    Then terminal "WPYB001234567890" shows no order
    When I call CodePay "wisehub.cloud.pay.close" with:
      """
      {"terminal_sn": "WPYB001234567890", "merchant_order_no": "CLOSE1", "message_receiving_application": "CodePay Register"}
      """
    Then the CodePay answer code is "40009"

  Scenario: FILO orders are served newest first
    Given terminal "WPYB001234567891" goes offline
    And order "Q1" for 1.00 USD is pushed to terminal "WPYB001234567891" with:
      """
      {"order_queue_mode": "FILO"}
      """
    And order "Q2" for 2.00 USD is pushed to terminal "WPYB001234567891" with:
      """
      {"order_queue_mode": "FILO"}
      """
    Then terminal "WPYB001234567891" queues "Q2, Q1"

  Scenario: An unpaid order expires on the clock
    Given order "EXP1" for 5.00 USD is pushed to terminal "WPYB001234567890" with:
      """
      {"expires": 120}
      """
    When the clock advances by "119s"
    Then CodePay order "EXP1" has trans_status "9"
    When the clock advances by "1s"
    Then CodePay order "EXP1" has trans_status "1"
    And terminal "WPYB001234567890" shows no order

  Scenario: The autopilot pays each order after a delay
    Given terminal "WPYB001234567891" pays every order with card "4000123456000001" after "10s"
    And order "AUTO1" for 8.00 USD is pushed to terminal "WPYB001234567891"
    When the clock advances by "10s"
    Then CodePay order "AUTO1" has trans_status "2"
