@ecies
Feature: Card data encrypted with ECIES (docs/CONTRACT.md §5)
  Every vector of simulator/ecies/testdata/ecies-vectors.json is delivered as a payment, sealed
  for the app's registered key with the vector's own ephemeral key and iv (a fail vector carries
  the same defect). An ok vector is charged with the card it holds; a fail vector is refused with
  result "false" and a reason, without any call to the PSP — not even one the PSP refuses.

  Background:
    Given the app is installed on the shop

  Scenario Outline: ECIES vector <vector> (<expect>)
    Requires docs/CONTRACT.md §5.1 (the scheme; the card charged is the package's) and §5.2 (a
    package that does not decrypt: "false" with a reason, no call to the PSP at all).

    When a buyer pays "19.00" with the ECIES vector "<vector>"
    Then the app judged the vector as it expects

    Examples:
      | vector                 | expect |
      | visa-ok                | ok     |
      | mastercard-ok          | ok     |
      | tampered-ciphertext    | fail   |
      | tampered-tag           | fail   |
      | swapped-iv             | fail   |
      | swapped-ephemeral-key  | fail   |
      | suit-downgrade         | fail   |
      | wrong-salt             | fail   |
      | ephemeral-key-not-spki | fail   |
      | for-another-recipient  | fail   |
      | short-iv               | fail   |
