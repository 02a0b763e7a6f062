@deadline
Feature: Deadlines (docs/CONTRACT.md §4)
  Without buyer action the final result is due within 30 s of Genstore's first attempt; with
  buyer action within 30 s of the buyer's return; captures, voids and refunds within 30 s, or
  when the PSP settles them. The suite waits for the result (and for what the app owes), then
  moves Genstore's clock past the deadline and reads Genstore's own deadline events.

  Background:
    Given the app is installed on the shop

  Scenario: A payment's result comes before its deadline
    Requires docs/CONTRACT.md §4 (30 s after the first attempt).

    When a buyer pays "21.10" with the Visa test card 00
    Then the payment's result reached Genstore before its deadline

  Scenario: The result comes before the deadline although the PSP's answer was lost on the way
    Requires docs/CONTRACT.md §4, §3.4 (the app asks the PSP when its answer is missing).

    Given the PSP takes the next payment but its answer never comes
    When a buyer pays "21.20" with the Visa test card 00
    Then the payment's result reached Genstore before its deadline
    And the PSP holds exactly one payment of "21.20", CAPTURED

  @3ds
  Scenario: After a challenge the result comes within 30 s of the buyer's return
    Requires docs/CONTRACT.md §4 (30 s after the buyer's return).

    When a buyer pays "21.30" with the Visa test card 06
    And the buyer answers the challenge with the one-time password "123456"
    Then the payment's result reached Genstore before its deadline

  @capture
  Scenario: A capture's result comes before its deadline
    Requires docs/CONTRACT.md §4 (captures: 30 s).

    When a buyer pays "21.40" with the Visa test card 00 to be captured later
    Then Genstore records the payment as authorized, reported by "pre_authorize/"
    When the merchant captures the payment
    Then the capture's result reached Genstore before its deadline

  @refund
  Scenario: A refund's result comes when the PSP settles it, before its deadline
    Requires docs/CONTRACT.md §4 (a pending refund: when the PSP settles it), §3.4.

    Given a buyer has paid "21.50" with the Visa test card 00
    When the merchant refunds "10.00"
    And the PSP settles its refunds
    Then the refund's result reached Genstore before its deadline
