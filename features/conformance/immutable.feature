@immutable
Feature: A final result never changes; a callback is delivered (CONTRACT.md §3)
  Genstore keeps the first final result and answers 409 to a different one. The PSP may notify
  late, twice, out of order, or contradict itself: the app must never send a contradicting
  callback. When Genstore answers a callback 5xx, or not at all, the app sends it again.

  Background:
    Given the app is installed on the shop

  Scenario: The PSP notifies success, then failure
    Requires docs/CONTRACT.md §3.2 (the final result is immutable: no second, different callback,
    whatever the PSP says later).

    Given the PSP follows its next payment notification with a contradicting one
    When a buyer pays "16.10" with the Visa test card 00
    Then Genstore records the payment as successful, reported by "payment/"
    And the PSP's notifications have been answered
    And no callback contradicted a recorded result

  Scenario: The PSP notifies failure, then success
    Requires docs/CONTRACT.md §3.2.

    Given the PSP follows its next payment notification with a contradicting one
    When a buyer pays "16.20" with the Visa test card 20
    Then Genstore records the payment as failed with a reason
    And the PSP's notifications have been answered
    And no callback contradicted a recorded result

  Scenario: The PSP notifies the same result twice
    Requires docs/CONTRACT.md §3.2 (an exact repeat is harmless; a contradiction is not) and §7
    (notifications may repeat).

    Given the PSP sends its next payment notification twice
    When a buyer pays "16.30" with the Visa test card 00
    Then Genstore records the payment as successful, reported by "payment/"
    And the PSP's notifications have been answered
    And no callback contradicted a recorded result

  Scenario: A PSP notification whose signature does not verify is refused
    Requires docs/CONTRACT.md §7 (a notification is taken only once its signature verifies).

    Given the PSP sends its next payment notification with a signature that does not verify
    When a buyer pays "16.35" with the Visa test card 00
    Then Genstore records the payment as successful, reported by "payment/"
    And the app refused the PSP's notification whose signature does not verify
    And no callback contradicted a recorded result

  @capture
  Scenario: The PSP's notifications arrive out of order
    Requires docs/CONTRACT.md §3.2 and §7 (notifications may come out of order).

    Given the PSP holds back its next payment notification until the one after it has gone
    When a buyer pays "16.40" with the Visa test card 00 to be captured later
    Then Genstore records the payment as authorized, reported by "pre_authorize/"
    When the merchant captures the payment
    Then Genstore records the capture as successful
    And the PSP's notifications have been answered
    And no callback contradicted a recorded result

  Scenario: A callback answered 503 is sent again
    Requires docs/CONTRACT.md §3.3 (a callback answered 5xx is sent again, byte-identical, under the
    same id).

    Given Genstore answers the app's next callback with HTTP 503
    When a buyer pays "16.50" with the Visa test card 00
    Then Genstore records the payment as successful, reported by "payment/" after a retry

  Scenario: A callback whose answer was lost is sent again, and Genstore keeps one result
    Requires docs/CONTRACT.md §3.3 (no answer: send again) and §3.2 (an exact repeat is taken with
    200).

    Given Genstore processes the app's next callback but its answer is lost
    When a buyer pays "16.60" with the Visa test card 00
    Then Genstore records the payment as successful, reported by "payment/"
    And the app sent the payment's callback again after the lost answer
    And no callback contradicted a recorded result

  Scenario: A callback Genstore does not answer is sent again
    Requires docs/CONTRACT.md §3.3.

    Given Genstore does not answer the app's next callback
    When a buyer pays "16.70" with the Visa test card 00
    Then Genstore records the payment as successful, reported by "payment/" after a retry

  @refund
  Scenario: A refund callback answered 503 is sent again
    Requires docs/CONTRACT.md §3.3.

    Given a buyer has paid "16.80" with the Visa test card 00
    And Genstore answers the app's next callback with HTTP 503
    When the merchant refunds "6.00"
    And the PSP settles its refunds
    Then Genstore records the refund as successful after a retry
