@install
Feature: Installation and account authorization (CONTRACT.md §1)
  The merchant installs the app from Genstore's admin: the browser goes to the app's
  onboarding URL with a single-use code, the app exchanges the code for the shop's access
  token and, once its PSP account is linked, reports PUT account_authorize ready. Genstore
  sends no payment to an installation that is not ready.

  Scenario: The app exchanges the installation code and reports its account ready
    Requires docs/CONTRACT.md §1.2 (the code is exchanged) and §1.3 (account_authorize ready).

    When the merchant installs the app
    Then the app exchanged the installation code for an access token
    And the app reported its account ready

  @signature
  Scenario: An onboarding link with a forged hmac is refused
    Requires docs/CONTRACT.md §1.2 and §2.2 (a link whose signature does not verify gets 401 and
    nothing else).

    When the merchant's browser opens the app's onboarding link with a forged hmac
    Then the app answers 401
    And the installation code was not exchanged

  Scenario: A reinstalled app reports results with its new access token
    Requires docs/CONTRACT.md §1.4 (the new token replaces the old one, which Genstore revokes).

    Given the app is installed on the shop
    When the merchant installs the app again
    And a buyer pays "10.10" with the Visa test card 00
    Then Genstore records the payment as successful, reported by "payment/"
