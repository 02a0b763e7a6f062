@privacy
Feature: No card data where it does not belong (docs/CONTRACT.md §5.3)
  Every card a scenario pays with — in every scenario of the suite, not only these — is
  registered with the simulator, which looks for it in the raw bytes of everything the app sends
  Genstore or answers it, and of every request to the PSP outside the field that carries the
  card; the suite searches the answers it reads from the app itself. A sighting is a verdict;
  the journal itself only ever shows card numbers masked. These scenarios walk the paths where
  card data tends to slip out: the failures.

  Background:
    Given the app is installed on the shop
    And a canary card

  Scenario: An approved payment leaks its card nowhere
    Requires docs/CONTRACT.md §5.3.

    When a buyer pays "23.10" with the canary card
    Then Genstore records the payment as successful, reported by "payment/"
    And the PSP charged the canary card
    And no card this scenario paid with was seen where it must not be

  Scenario: An authorization, its capture and a query leak the card nowhere
    Requires docs/CONTRACT.md §5.3.

    When a buyer pays "23.20" with the canary card to be captured later
    Then Genstore records the payment as authorized, reported by "pre_authorize/"
    When the merchant captures the payment
    Then Genstore records the capture as successful
    When Genstore asks the app about the payment
    Then no card this scenario paid with was seen where it must not be

  Scenario: A refund and its query leak the card nowhere
    Requires docs/CONTRACT.md §5.3.

    Given a buyer has paid "23.30" with the canary card
    When the merchant refunds "3.30"
    And the PSP settles its refunds
    Then Genstore records the refund as successful
    When Genstore asks the app about the refund
    Then no card this scenario paid with was seen where it must not be

  Scenario: A declined card leaks nowhere, in the acknowledgement or in the failure's reason
    Requires docs/CONTRACT.md §5.3 (on every failure path too: an acknowledgement's error and a
    failure's reason never quote the card).

    When a buyer pays "23.40" with the Visa test card 21
    Then Genstore records the payment as failed with a reason
    When Genstore asks the app about the payment
    Then no card this scenario paid with was seen where it must not be

  Scenario: A failed 3-D Secure challenge leaks the card nowhere
    Requires docs/CONTRACT.md §5.3.

    When a buyer pays "23.50" with the Visa test card 07
    And the buyer answers the challenge with the one-time password "000000"
    Then Genstore records the payment as failed with a reason
    And no card this scenario paid with was seen where it must not be

  Scenario: A void leaks the card nowhere
    Requires docs/CONTRACT.md §5.3.

    When a buyer pays "23.60" with the canary card to be captured later
    Then Genstore records the payment as authorized, reported by "pre_authorize/"
    When the merchant voids the payment
    Then Genstore records the void as successful
    And no card this scenario paid with was seen where it must not be
