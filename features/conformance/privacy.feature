@privacy
Feature: No card data where it does not belong (CONTRACT.md §5)
  Each scenario pays with a canary card — Luhn-valid, used nowhere else — that the simulator
  looks for in the raw bytes of everything the app sends Genstore or answers it, and of every
  request to the PSP outside the field that carries the card. A sighting is journaled as
  privacy.leak; the journal itself only ever shows card numbers masked.

  Background:
    Given the app is installed on the shop
    And a canary card

  Scenario: An approved payment leaks its card nowhere
    When a buyer pays "23.10" with the canary card
    Then Genstore records the payment as successful, reported by "payment/"
    And the PSP charged the canary card
    And the canary card was seen nowhere it must not be

  Scenario: An authorization, its capture and a query leak the card nowhere
    When a buyer pays "23.20" with the canary card to be captured later
    Then Genstore records the payment as authorized, reported by "pre_authorize/"
    When the merchant captures the payment
    Then Genstore records the capture as successful
    When Genstore asks the app about the payment
    Then the canary card was seen nowhere it must not be

  Scenario: A refund and its query leak the card nowhere
    Given a buyer has paid "23.30" with the canary card
    When the merchant refunds "3.30"
    And the PSP settles its refunds
    Then Genstore records the refund as successful
    When Genstore asks the app about the refund
    Then the canary card was seen nowhere it must not be
