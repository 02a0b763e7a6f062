@query
Feature: The query endpoints (CONTRACT.md §2)
  When no callback has come, Genstore asks paymentQueryUrl and refundQueryUrl. The answers
  follow specs/genstore-app.yaml, say what the callbacks said, and an id the app never
  received is answered 404.

  Background:
    Given the app is installed on the shop

  Scenario: A successful payment is answered SUCCESS with its channel payment id
    Requires docs/CONTRACT.md §2.7 (the query answers the callback's result and channel id).

    Given a buyer has paid "22.10" with the Visa test card 00
    When Genstore asks the app about the payment
    Then the app's answer follows genstore-app.yaml and agrees with the recorded result

  Scenario: A declined payment is answered FAILURE with the reason
    Requires docs/CONTRACT.md §2.7.

    When a buyer pays "22.20" with the Visa test card 20
    Then Genstore records the payment as failed with a reason
    When Genstore asks the app about the payment
    Then the app's answer follows genstore-app.yaml and agrees with the recorded result

  Scenario: A refund is answered with its status
    Requires docs/CONTRACT.md §2.7.

    Given a buyer has paid "22.30" with the Visa test card 00
    When the merchant refunds "2.30"
    And the PSP settles its refunds
    Then Genstore records the refund as successful
    When Genstore asks the app about the refund
    Then the app's answer follows genstore-app.yaml and agrees with the recorded result

  Scenario: A payment and a refund the app never received are answered 404
    Requires docs/CONTRACT.md §2.7 (an unknown id is answered 404 with {"error"}).

    When Genstore asks the app about a payment it never sent
    Then the app's answer is 404 as genstore-app.yaml says
    When Genstore asks the app about a refund it never sent
    Then the app's answer is 404 as genstore-app.yaml says

  Scenario: A result whose callbacks never got through is found by reconciliation
    Requires docs/CONTRACT.md §2.7 (reconciliation asks after 5 min) and §3.3 (the app keeps the
    result it could not deliver). The clock moves only once the app has made its PSP call and tried
    its callback.

    Given Genstore answers every callback of the shop with HTTP 503
    When a buyer pays "22.40" with the Visa test card 00
    And Genstore's clock reaches the first reconciliation
    Then Genstore records the payment as successful, found by reconciliation
