package dev.loomstack.api;

import dev.loomstack.packet.IpPrefix;
import jakarta.validation.Constraint;
import jakarta.validation.ConstraintValidator;
import jakarta.validation.ConstraintValidatorContext;
import jakarta.validation.Payload;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * An IP prefix in CIDR notation, parsed strictly: a valid address, a length within its family's
 * bits, no host bits set ({@code 10.0.0.1/24} is refused; write {@code 10.0.0.0/24}).
 */
@Target({ElementType.TYPE_USE, ElementType.FIELD, ElementType.PARAMETER})
@Retention(RetentionPolicy.RUNTIME)
@Constraint(validatedBy = IpPrefixText.Validator.class)
public @interface IpPrefixText {
    String message() default "must be an IP prefix such as 10.0.0.0/24 or fd7a:115c:a1e0::1/128 (no host bits set)";

    Class<?>[] groups() default {};

    Class<? extends Payload>[] payload() default {};

    /** Null is left to {@code @NotNull}. */
    final class Validator implements ConstraintValidator<IpPrefixText, String> {
        @Override
        public boolean isValid(String value, ConstraintValidatorContext context) {
            if (value == null) {
                return true;
            }
            try {
                IpPrefix.parseStrict(value);
                return true;
            } catch (IllegalArgumentException e) {
                context.disableDefaultConstraintViolation();
                context.buildConstraintViolationWithTemplate("'" + value.replace("{", "").replace("$", "")
                        + "' is not a valid IP prefix: " + e.getMessage().replace("{", "").replace("$", ""))
                        .addConstraintViolation();
                return false;
            }
        }
    }
}
