Feature: The buyer's side of a redirect
  Once the app acknowledges a payment with a redirectUrl, Genstore sends the
  buyer there; on a pspsim challenge page the buyer types the one-time
  password or cancels, and comes back to the shop.

  Background:
    Given a Genstore shop "7001" in test mode with a fee of 290 basis points plus 30
    And a payment app "my-app" is registered with Genstore
    And the app "my-app" is installed on shop "7001"
    And the app asks the buyer for a one-time password

  Scenario: The buyer passes the challenge
    When a buyer pays "10.00" with card "4000123456000068"
    And the buyer opens the redirect
    Then the response status is 200
    And the JSON field "challenge" is "true"
    When the buyer enters the one-time password "123456" on the redirect page
    Then the response status is 200
    And the JSON field "challengeStatus" is "303"
    And the buyer is back at the shop
    And the app saw the buyer submit the one-time password "123456"
    And the journal has an event of kind "buyer.returned"
    And the journal does not contain "123456"

  Scenario: The buyer abandons the challenge
    When a buyer pays "10.00" with card "4000123456000084"
    And the buyer cancels the challenge on the redirect page
    Then the response status is 200
    And the buyer is back at the shop
    And the app saw the buyer cancel
    When the app reports the payment as failed
    Then the payment has status "9"
