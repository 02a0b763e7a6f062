Feature: Payments, captures, voids and refunds between Genstore and a payment app
  Genstore sends each operation to the app, which acknowledges it and reports
  the final result by callback (CONTRACT.md §2-§3). A final result never
  changes: the first one stands.

  Background:
    Given a Genstore shop "7001" in test mode with a fee of 290 basis points plus 30
    And a payment app "my-app" is registered with Genstore
    And the app "my-app" is installed on shop "7001"

  Scenario: An approved payment, with the card encrypted to the app
    When a buyer pays "100.00" with card "4000123456000019"
    Then the payment has status "1"
    And the app decrypted the card "4000123456000019" with its key
    And every request the app received was correctly signed
    When the app reports the payment as succeeded
    Then the response status is 200
    And the payment has status "2"
    And the pay transaction shows amount "100.00", fee "3.20" and net "96.80"
    And the journal does not contain "4000123456000019"

  Scenario: A declined payment
    When a buyer pays "25.00" with card "4000123456000209"
    And the app reports the payment as failed
    Then the response status is 200
    And the payment has status "9"
    And the pay transaction shows amount "25.00", fee "0.00" and net "0.00"

  Scenario: A final result is immutable
    When a buyer pays "10.00" with card "4000123456000019"
    And the app reports the payment as succeeded
    And the app reports the payment as succeeded
    Then the response status is 200
    When the app reports the payment as failed
    Then the response status is 409
    And the JSON field "errors" contains "pay.result"
    When the app reports the payment as succeeded with channel id "another-psp-id"
    Then the response status is 409
    And the payment has status "2"

  Scenario: Duplicate callbacks at the same moment: exactly one result wins
    When a buyer pays "10.00" with card "4000123456000019"
    And the app reports the payment as succeeded and as failed at the same time, 10 times each
    Then every report that agrees with the recorded result got 200 and every other 409
    And the journal has 1 event of kind "payment.status_changed"

  Scenario: Authorize, capture part of it, refund in parts up to what was captured
    When a buyer pays "100.00" with card "5100123456000015" to be captured later
    And the app reports the payment as succeeded
    Then the payment has status "4"
    When the merchant captures "60.00"
    Then the response status is 201
    When the app reports the capture as succeeded
    Then the payment has status "2"
    And the merchant sees "60.00" as the payment's captured amount
    When the merchant refunds "25.00"
    And the app reports the refund as succeeded
    Then the refund is succeeded
    When the merchant refunds "40.00"
    Then the response status is 422
    And the JSON field "error.message" contains "35.00"
    When the merchant refunds the payment
    And the app reports the refund as succeeded
    Then the merchant sees "0.00" as the payment's refundable amount
    And the merchant sees "60.00" as the payment's refunded amount

  Scenario: Void an authorization
    When a buyer pays "30.00" with card "4000123456000019" to be captured later
    And the app reports the payment as succeeded
    And the merchant voids the payment
    And the app reports the void as succeeded
    Then the void is succeeded
    And the payment has status "3"

  Scenario: A failed capture leaves the authorization in place
    When a buyer pays "30.00" with card "4000123456000019" to be captured later
    And the app reports the payment as succeeded
    And the merchant captures the payment
    And the app reports the capture as failed
    Then the capture is failed
    And the payment has status "4"

  Scenario Outline: A callback of the wrong kind is refused with 422
    When a buyer pays "10.00" with card "4000123456000019" to be captured <capture>
    And I set the header "X-Genstore-Access-Token" to "{token}"
    And I send PUT "/genstore/api/202412/app/<endpoint>/{paymentId}" with JSON:
      """
      {"pay": {"result": "true", "paymentId": "{paymentId}"}}
      """
    Then the response status is 422
    And the JSON field "errors" contains "<hint>"

    Examples:
      | capture | endpoint      | hint          |
      | later   | payment       | pre_authorize |
      | at once | pre_authorize | /app/payment/ |
