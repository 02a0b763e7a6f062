@3ds
Feature: 3-D Secure (CONTRACT.md §2, §7; TESTCARDS.md)
  The card decides how the issuer authenticates the buyer. A challenge comes back to Genstore
  as the acknowledgement's redirectUrl; Genstore's buyer follows it, answers the challenge and
  is sent back to paymentMethod.data.returnUrl; the result is due within 30 s of that return.
  An authentication that failed, was rejected, abandoned or unavailable is never authorized.

  Background:
    Given the app is installed on the shop

  Scenario: Frictionless authentication, approved
    Requires docs/CONTRACT.md §3.4 and TESTCARDS.md row 01.

    When a buyer pays "17.10" with the Visa test card 01
    Then Genstore records the payment as successful, reported by "payment/"
    And the PSP holds exactly one payment of "17.10", CAPTURED

  Scenario: Frictionless authentication, attempted, approved
    Requires docs/CONTRACT.md §3.4 and TESTCARDS.md row 02.

    When a buyer pays "17.20" with the Mastercard test card 02
    Then Genstore records the payment as successful, reported by "payment/"
    And the PSP holds exactly one payment of "17.20", CAPTURED

  Scenario: Frictionless authentication failed (N) is never authorized
    Requires docs/CONTRACT.md §3.4 (a 3-D Secure N is never authorized) and TESTCARDS.md row 03.

    When a buyer pays "17.30" with the Visa test card 03
    Then Genstore records the payment as failed with a reason
    And the PSP holds exactly one payment of "17.30", FAILED

  Scenario: A rejected authentication (R) is never authorized
    Requires docs/CONTRACT.md §3.4 and TESTCARDS.md row 04.

    When a buyer pays "17.40" with the Visa test card 04
    Then Genstore records the payment as failed with a reason
    And the PSP holds exactly one payment of "17.40", FAILED

  Scenario: Authentication unavailable (U) fails the payment
    Requires docs/CONTRACT.md §3.4 and TESTCARDS.md row 05.

    When a buyer pays "17.50" with the Visa test card 05
    Then Genstore records the payment as failed with a reason
    And the PSP holds exactly one payment of "17.50", FAILED

  Scenario: A challenge passed is authorized after the buyer's return
    Requires docs/CONTRACT.md §2.4 (the acknowledgement carries redirectUrl; the buyer comes back to
    returnUrl) and §3.4.

    When a buyer pays "17.60" with the Visa test card 06
    Then the app acknowledged the payment with a redirect for the buyer
    When the buyer answers the challenge with the one-time password "123456"
    Then the buyer is back at the shop
    And Genstore records the payment as successful, reported by "payment/"
    And the PSP holds exactly one payment of "17.60", CAPTURED

  Scenario: A challenge passed on an authorization is reported by pre_authorize/
    Requires docs/CONTRACT.md §2.4, §3.1.

    When a buyer pays "17.65" with the Mastercard test card 06 to be captured later
    Then the app acknowledged the payment with a redirect for the buyer
    When the buyer answers the challenge with the one-time password "123456"
    Then the buyer is back at the shop
    And Genstore records the payment as authorized, reported by "pre_authorize/"

  Scenario: A challenge failed is never authorized
    Requires docs/CONTRACT.md §2.4, §3.4 and TESTCARDS.md row 07.

    When a buyer pays "17.70" with the Visa test card 07
    Then the app acknowledged the payment with a redirect for the buyer
    When the buyer answers the challenge with the one-time password "000000"
    Then the buyer is back at the shop
    And Genstore records the payment as failed with a reason
    And the PSP holds exactly one payment of "17.70", FAILED

  Scenario: A challenge the buyer abandons is never authorized
    Requires docs/CONTRACT.md §2.4, §3.4 and TESTCARDS.md row 08.

    When a buyer pays "17.80" with the Visa test card 08
    Then the app acknowledged the payment with a redirect for the buyer
    When the buyer abandons the challenge
    Then the buyer is back at the shop
    And Genstore records the payment as failed with a reason
    And the PSP holds exactly one payment of "17.80", FAILED

  Scenario: A decoupled authentication the issuer refuses is never authorized
    Requires docs/CONTRACT.md §3.4 (a payment the PSP holds PENDING is reported when its final
    status arrives, and only then) and TESTCARDS.md row 13.

    When a buyer pays "17.90" with the Visa test card 13
    And the issuer refuses the decoupled authentication
    Then Genstore records the payment as failed with a reason
    And the PSP holds exactly one payment of "17.90", FAILED
