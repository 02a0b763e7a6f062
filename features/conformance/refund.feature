@refund
Feature: Partial and full refunds, and their limits (CONTRACT.md §2, §3, §7)
  A successful payment can be refunded several times, never beyond what was captured. The
  card gateway settles refunds a few seconds after taking them (on the simulated clock); CodePay
  when it answers them.

  Background:
    Given the app is installed on the shop

  Scenario: Partial refunds up to the captured amount
    Requires docs/CONTRACT.md §2.1 (several partial refunds), §3.4 (reported once the PSP settled
    them).

    Given a buyer has paid "40.00" with the Visa test card 00
    When the merchant refunds "15.00"
    And the PSP settles its refunds
    Then Genstore records the refund as successful
    When the merchant refunds "25.00"
    And the PSP settles its refunds
    Then Genstore records the refund as successful
    And the PSP refunded "40.00" of the payment in 2 refunds

  Scenario: A full refund
    Requires docs/CONTRACT.md §2.1, §3.4.

    Given a buyer has paid "41.00" with the Mastercard test card 00
    When the merchant refunds the payment
    And the PSP settles its refunds
    Then Genstore records the refund as successful
    And the PSP refunded "41.00" of the payment in 1 refund

  Scenario: A refund above the captured amount is refused without a PSP refund
    Requires docs/CONTRACT.md §2.6 (the app refuses a refund above what is captured itself).

    Given a buyer has paid "10.00" with the Visa test card 00
    When the merchant refunds "15.00" without Genstore's own limit check
    And the PSP settles its refunds
    Then Genstore records the refund as failed with a reason
    And the PSP refunded nothing of the payment

  Scenario: A refund above what is left after a partial refund is refused
    Requires docs/CONTRACT.md §2.6 (refunds in flight and done count).

    Given a buyer has paid "10.00" with the Visa test card 00
    When the merchant refunds "6.00"
    And the PSP settles its refunds
    Then Genstore records the refund as successful
    When the merchant refunds "6.00" without Genstore's own limit check
    And the PSP settles its refunds
    Then Genstore records the refund as failed with a reason
    And the PSP refunded "6.00" of the payment in 1 refund

  Scenario: A partially captured authorization refunds only what was captured
    Requires docs/CONTRACT.md §2.6.

    When a buyer pays "20.00" with the Visa test card 00 to be captured later
    Then Genstore records the payment as authorized, reported by "pre_authorize/"
    When the merchant captures "12.00"
    Then Genstore records the capture as successful
    When the merchant refunds "15.00" without Genstore's own limit check
    And the PSP settles its refunds
    Then Genstore records the refund as failed with a reason
    And the PSP refunded nothing of the payment

  @vmgateway
  Scenario: A refund the PSP fails to settle is reported failed
    Requires docs/CONTRACT.md §3.4 (a refund is "true" when the PSP settled it, not when it
    accepted it; an outcome after the acknowledgement is reported when it is known).

    Given a buyer has paid "42.00" with the Visa test card 00
    When the merchant refunds "12.00"
    And the PSP fails to settle the refund
    Then Genstore records the refund as failed with a reason
    And the PSP refunded nothing of the payment
