@idempotency
Feature: One operation per id, however many deliveries (CONTRACT.md §2 Idempotency)
  Genstore may deliver one request more than once, and twice at the same moment, and it
  retries what it has no acknowledgement for. The operation's id is the idempotency key:
  every delivery of one id is one operation — one call that charges at the PSP, one final
  result at Genstore. The suite counts the PSP's own records.

  Background:
    Given the app is installed on the shop

  Scenario: The same payment request delivered twice in a row is charged once
    Requires docs/CONTRACT.md §2.3 (one PSP call, one final result per id) and §2.4 (every delivery
    gets the same acknowledgement).

    Given Genstore delivers the next "payment" request twice in a row
    When a buyer pays "15.10" with the Visa test card 00
    Then the PSP holds exactly one payment of "15.10", CAPTURED
    And Genstore records the payment as successful, reported by "payment/"
    And no callback contradicted a recorded result

  Scenario: The same payment request delivered three times at the same moment is charged once
    Requires docs/CONTRACT.md §2.3 (concurrent deliveries are one operation) and §2.4 (each
    delivery, the ones that arrive while the first is in flight included, is answered with the
    acknowledgement).

    Given the PSP is slow to answer the next payment by "300ms"
    And Genstore delivers the next "payment" request 3 times at the same moment
    When a buyer pays "15.20" with the Visa test card 00
    Then the PSP holds exactly one payment of "15.20", CAPTURED
    And Genstore records the payment as successful, reported by "payment/"
    And no callback contradicted a recorded result

  Scenario: A payment request retried after Genstore's wait for the acknowledgement timed out is charged once
    Requires docs/CONTRACT.md §2.3 and §2.5 (a request with no answer in time is retried with the
    same body).

    Given the PSP is slow to answer the next payment, past Genstore's request timeout
    When a buyer pays "15.30" with the Visa test card 00
    And Genstore retries the payment request that got no acknowledgement in time
    Then the PSP holds exactly one payment of "15.30", CAPTURED
    And Genstore records the payment as successful, reported by "payment/"
    And no callback contradicted a recorded result

  Scenario: A payment whose PSP call failed with a 5xx is charged once
    Requires docs/CONTRACT.md §2.3 and §3.4 (after a 5xx the app asks the PSP before it creates
    anything again).

    Given the PSP answers the next payment with HTTP 503 without processing it
    When a buyer pays "15.40" with the Visa test card 00
    Then the PSP holds exactly one payment of "15.40", CAPTURED
    And Genstore records the payment as successful, reported by "payment/"

  Scenario: A payment the PSP processed but whose answer was lost is charged once and reported successful
    Requires docs/CONTRACT.md §2.3 and §3.4 (an unknown outcome is learnt from the PSP, never
    guessed).

    Given the PSP processes the next payment but its answer is lost
    When a buyer pays "15.50" with the Visa test card 00
    Then the PSP holds exactly one payment of "15.50", CAPTURED
    And Genstore records the payment as successful, reported by "payment/"

  Scenario: A payment the PSP processed but answered 502 is charged once and reported successful
    Requires docs/CONTRACT.md §2.3 and §3.4.

    Given the PSP processes the next payment but answers HTTP 502
    When a buyer pays "15.60" with the Visa test card 00
    Then the PSP holds exactly one payment of "15.60", CAPTURED
    And Genstore records the payment as successful, reported by "payment/"

  @refund
  Scenario: The same refund request delivered twice at the same moment refunds once
    Requires docs/CONTRACT.md §2.3 (one refund per refundId) and §3.4 (reported once settled).

    Given a buyer has paid "15.70" with the Visa test card 00
    And Genstore delivers the next "refund" request 2 times at the same moment
    When the merchant refunds "5.00"
    And the PSP settles its refunds
    Then Genstore records the refund as successful
    And the PSP refunded "5.00" of the payment in 1 refund

  @capture
  Scenario: The same capture request delivered twice in a row captures once
    Requires docs/CONTRACT.md §2.3 (one capture per captureId) and §2.4.

    When a buyer pays "15.80" with the Visa test card 00 to be captured later
    Then Genstore records the payment as authorized, reported by "pre_authorize/"
    Given Genstore delivers the next "capture" request twice in a row
    When the merchant captures "10.00"
    Then Genstore records the capture as successful
    And the PSP captured "10.00" of the payment
    And no callback contradicted a recorded result
