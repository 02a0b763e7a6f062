Feature: Driving the sandbox's pages as a buyer or a cashier
  The hosted cashier, the wallet page, CodePay's hosted checkout, the 3-D Secure challenge
  and the terminal screens are driven by their forms, as a browser would, so QA scripts a
  whole checkout without a browser.

  Scenario: A buyer pays a checkout session on the cashier through a challenge
    Given I have a card gateway access token for "sandbox"
    And a checkout session of "42.00" HKD is created as order "PAGES-1"
    When the buyer opens "{cashierUrl}"
    Then the page shows "Order PAGES-1"
    When the buyer pays on the cashier with the card "4000123456000068"
    Then the page shows "Verify your payment"
    And the page shows "400012******0068"
    When the buyer answers the challenge page with "123456"
    Then the page shows "Payment CAPTURED"
    And the payment of order "PAGES-1" is "CAPTURED"
    And the journal does not contain "4000123456000068"

  Scenario: A wrong code keeps the buyer on the challenge page
    Given I have a card gateway access token for "sandbox"
    And a checkout session of "10.00" USD is created as order "PAGES-2"
    When the buyer opens "{cashierUrl}"
    And the buyer pays on the cashier with the card "4000123456000068"
    And the buyer answers the challenge page with "999999"
    Then the page shows "Verify your payment"

  Scenario: A buyer cancels on the cashier and is sent back to the shop
    Given I have a card gateway access token for "sandbox"
    And a checkout session of "10.00" USD is created as order "PAGES-3" with frontUrl "https://shop.example/back"
    When the buyer opens "{cashierUrl}"
    And the buyer cancels on the cashier
    Then the buyer is back at "https://shop.example/back" with "status=CANCELLED" in the query
    And the journal has an event of kind "cashier.cancelled"

  Scenario: A buyer pays with a wallet and approves it on the wallet page
    Given I have a card gateway access token for "sandbox"
    And a checkout session of "15.00" USD is created as order "PAGES-4"
    When the buyer opens "{cashierUrl}"
    And the buyer pays on the cashier with the wallet "alipay"
    Then the page shows "Simulated wallet app"
    When the buyer approves on the wallet page
    Then the payment of order "PAGES-4" is "CAPTURED"

  Scenario: A merchant checkout with an encrypted card needs a challenge
    When I pay CodePay merchant checkout "PAGES-5" of 34.50 USD with the encrypted card "4000123456000068"
    Then the CodePay answer code is "0"
    When the buyer opens "{challenge3ds}"
    Then the page shows "Verify your payment"
    When the buyer answers the challenge page with "123456"
    Then the buyer is back at "https://shop.example/return" with "merchant_order_no=PAGES-5" in the query
    And CodePay order "PAGES-5" has trans_status "2"

  Scenario: A cashier takes a sale on the terminal's screen with a test card
    Given order "PAGES-6" for 20.00 USD is pushed to terminal "WPYB001234567890"
    When the cashier opens the screen of terminal "WPYB001234567890"
    Then the page shows "order PAGES-6"
    When the cashier taps test card "00" on the terminal screen
    Then the terminal screen says "done: card"
    And CodePay order "PAGES-6" has trans_status "2"

  Scenario: A declined test card on the terminal screen
    Given order "PAGES-7" for 20.00 USD is pushed to terminal "WPYB001234567890"
    When the cashier opens the screen of terminal "WPYB001234567890"
    And the cashier taps test card "20" on the terminal screen
    Then CodePay order "PAGES-7" has trans_status "1"
    And the journal has an event of kind "order.state_changed"

  Scenario: A cashier takes the terminal offline from its screen
    When the cashier opens the screen of terminal "WPYB001234567891"
    And the cashier presses "offline" on the terminal screen
    Then the page shows "offline"
    And the journal has an event of kind "terminal.offline"
