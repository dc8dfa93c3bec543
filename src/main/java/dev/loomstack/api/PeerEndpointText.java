package dev.loomstack.api;

import dev.loomstack.engine.WireGuardPeer;
import jakarta.validation.Constraint;
import jakarta.validation.ConstraintValidator;
import jakarta.validation.ConstraintValidatorContext;
import jakarta.validation.Payload;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/** A peer endpoint, {@code host:port} (IPv6 as {@code [addr]:port}); whether the host resolves is checked when applied. */
@Target({ElementType.TYPE_USE, ElementType.FIELD, ElementType.PARAMETER})
@Retention(RetentionPolicy.RUNTIME)
@Constraint(validatedBy = PeerEndpointText.Validator.class)
public @interface PeerEndpointText {
    String message() default WireGuardPeer.Endpoint.RULE;

    Class<?>[] groups() default {};

    Class<? extends Payload>[] payload() default {};

    /** Null is left to {@code @NotNull}. */
    final class Validator implements ConstraintValidator<PeerEndpointText, String> {
        @Override
        public boolean isValid(String value, ConstraintValidatorContext context) {
            if (value == null) {
                return true;
            }
            try {
                WireGuardPeer.Endpoint.parse(value);
                return true;
            } catch (IllegalArgumentException e) {
                context.disableDefaultConstraintViolation();
                context.buildConstraintViolationWithTemplate(e.getMessage().replace("{", "").replace("$", ""))
                        .addConstraintViolation();
                return false;
            }
        }
    }
}
