@signature
Feature: Signed requests (CONTRACT.md §2 Signing)
  Every request from Genstore carries shop, shopId, timestamp and hmac, the hex HMAC-SHA256 of
  the other query parameters keyed with the client secret. A request whose hmac does not
  verify, or whose timestamp is more than 300 s off, is answered 401 and nothing else happens:
  no PSP call, no callback.

  Background:
    Given the app is installed on the shop

  Scenario: A payment request with a forged hmac is refused and does nothing
    Requires docs/CONTRACT.md §2.2 (401 and nothing else: no PSP call, no callback).

    Given Genstore sends the next "payment" request with a forged hmac
    When a buyer pays "20.10" with the Visa test card 00
    Then the app refused the payment request with 401
    And the app made no call to the PSP
    And the app sent no callback about the payment

  Scenario: A payment request with a stale timestamp is refused and does nothing
    Requires docs/CONTRACT.md §2.2 (a timestamp more than 300 s off).

    When a payment request signed 10 minutes ago is sent to the app
    Then the app answers 401
    And the app made no call to the PSP
    And the app sent no callback about the payment

  Scenario: A payment request with a timestamp from the future is refused and does nothing
    Requires docs/CONTRACT.md §2.2.

    When a payment request signed 10 minutes from now is sent to the app
    Then the app answers 401
    And the app made no call to the PSP
    And the app sent no callback about the payment

  @refund
  Scenario: A refund request with a forged hmac is refused and refunds nothing
    Requires docs/CONTRACT.md §2.2.

    Given a buyer has paid "20.20" with the Visa test card 00
    And Genstore sends the next "refund" request with a forged hmac
    When the merchant refunds "5.00"
    And the PSP settles its refunds
    Then the app refused the refund request with 401
    And the PSP refunded nothing of the payment

  @query
  Scenario: A query with a forged hmac is refused
    Requires docs/CONTRACT.md §2.2 and §2.7 (a query is signed like any request).

    Given a buyer has paid "20.30" with the Visa test card 00
    When the app is asked about the payment with a forged hmac
    Then the app answers 401
