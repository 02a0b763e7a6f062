@capture
Feature: Manual capture and partial capture (docs/CONTRACT.md §2, §3)
  A manualCapture:true payment is only authorized; its result goes to pre_authorize/. The
  merchant captures it later, in full or in part, once.

  Background:
    Given the app is installed on the shop

  Scenario: An authorization is reported by pre_authorize/ and captured in full
    Requires docs/CONTRACT.md §3.1 (pre_authorize/ for manualCapture:true), §3.4 (the capture's amount).

    When a buyer pays "20.00" with the Visa test card 00 to be captured later
    Then Genstore records the payment as authorized, reported by "pre_authorize/"
    And the PSP holds exactly one payment of "20.00", AUTHORIZED
    When the merchant captures the payment
    Then Genstore records the capture as successful
    And the PSP captured "20.00" of the payment

  Scenario: A partial capture captures only what was asked
    Requires docs/CONTRACT.md §2.1 (a capture takes all or part, once), §3.4.

    When a buyer pays "20.00" with the Visa test card 00 to be captured later
    Then Genstore records the payment as authorized, reported by "pre_authorize/"
    When the merchant captures "12.00"
    Then Genstore records the capture as successful
    And the PSP captured "12.00" of the payment

  Scenario: A capture above the authorized amount is refused without a PSP call
    Requires docs/CONTRACT.md §2.6 (the app refuses it itself: "false" with a reason, no call
    to the PSP, not even one the PSP would refuse).

    When a buyer pays "20.00" with the Visa test card 00 to be captured later
    Then Genstore records the payment as authorized, reported by "pre_authorize/"
    When the merchant captures "25.00" without Genstore's own limit check
    Then Genstore records the capture as failed with a reason
    And the app made no capture call to the PSP
    And the PSP captured nothing of the payment

  @vmgateway
  Scenario: A capture the PSP never took is reported failed once the authorization lapsed
    Requires docs/CONTRACT.md §3.4 (a capture is "true" only when the PSP captured; an outcome
    that arrives after the acknowledgement is reported when known) and §2.5 (or 5xx until
    Genstore's retries run out).

    When a buyer pays "20.50" with the Visa test card 00 to be captured later
    Then Genstore records the payment as authorized, reported by "pre_authorize/"
    Given the PSP answers every capture with HTTP 503 without processing it
    When the merchant captures the payment
    And the authorization lapses at the PSP
    Then Genstore records the capture as failed, reported by the app or when Genstore's retries ran out
    And the PSP captured nothing of the payment
